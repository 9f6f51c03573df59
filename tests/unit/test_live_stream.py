"""LiveStream: what executors send as live output is redacted, capped and readable."""

from __future__ import annotations

import itertools

from sophrosyne.crypto import redact
from sophrosyne.executors.live import LiveStream, live_cut_marker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def stream(**options: object) -> tuple[LiveStream, list[str]]:
    sent: list[str] = []
    options.setdefault("cap_bytes", 1 << 20)
    return LiveStream(sent.append, **options), sent  # type: ignore[arg-type]


def test_plain_text_passes_through_at_once() -> None:
    live, sent = stream()
    live.feed("hello ")
    live.feed("world\n")
    assert sent == ["hello ", "world\n"]
    live.close()
    assert sent == ["hello ", "world\n"]


SECRETS = ("hunter2", "s3cr3t-token")
TEXT = "login hunter2 ok\nkey=s3cr3t-token; again hunter2\nhunt hunter22 s3cr3t end"


def test_secrets_split_across_chunks_are_redacted() -> None:
    for a, b in itertools.combinations(range(1, len(TEXT)), 2):
        live, sent = stream(secrets=SECRETS)
        for piece in (TEXT[:a], TEXT[a:b], TEXT[b:]):
            live.feed(piece)
        live.close()
        assert "".join(sent) == redact(TEXT, SECRETS), (a, b)
        for chunk in sent:
            assert "hunter2" not in chunk and "s3cr3t-token" not in chunk


def test_every_single_character_split() -> None:
    live, sent = stream(secrets=SECRETS)
    for char in TEXT:
        live.feed(char)
    live.close()
    assert "".join(sent) == redact(TEXT, SECRETS)


def test_only_what_may_become_a_secret_is_held_back() -> None:
    live, sent = stream(secrets=("hunter2",))
    live.feed("progress 50% hun")
    assert sent == ["progress 50% "]
    live.feed("dreds done\n")  # not the secret after all: sent as it was
    assert "".join(sent) == "progress 50% hundreds done\n"


def test_overlapping_secrets_become_one_marker() -> None:
    live, sent = stream(secrets=("abcd", "cdef"))
    live.feed("xxabc")
    live.feed("def yy")
    live.close()
    assert "".join(sent) == "xx[redacted] yy"


def test_prefixed_lines_are_sent_whole() -> None:
    clock = Clock()
    live, sent = stream(prefix="[web1] ", clock=clock)
    live.feed("one\ntw")
    assert sent == ["[web1] one\n"]
    live.feed("o\nthree")
    assert sent == ["[web1] one\n", "[web1] two\n"]
    live.tick()  # not held long enough yet
    assert len(sent) == 2
    clock.now += 1
    live.tick()  # a prompt that never ends its line still shows, as a line of its own
    assert sent[-1] == "[web1] three\n"
    live.feed(" more\nfour\nfive")
    assert sent[-1] == "[web1]  more\n[web1] four\n"
    live.close()
    assert sent[-1] == "[web1] five\n"


def test_two_targets_interleave_by_whole_lines() -> None:
    sent: list[str] = []
    a = LiveStream(sent.append, cap_bytes=1000, prefix="[a] ")
    b = LiveStream(sent.append, cap_bytes=1000, prefix="[b] ")
    a.feed("alpha ")
    b.feed("bravo ")
    a.feed("one\n")
    b.feed("two\n")
    a.close()
    b.close()
    assert sent == ["[a] alpha one\n", "[b] bravo two\n"]


def test_cap_counts_prefixes_and_ends_with_one_marker() -> None:
    live, sent = stream(cap_bytes=100, prefix="[t] ")
    for i in range(100):
        live.feed(f"line {i}\n")
    live.close()
    text = "".join(sent)
    assert text.endswith("[t] " + live_cut_marker(100))
    assert len(text.encode()) <= 100 + len(("\n[t] " + live_cut_marker(100)).encode())
    assert text.count("truncated") == 1
    assert text.startswith("[t] line 0\n[t] line 1\n")


def test_cut_sends_the_rest_then_the_marker_and_drops_a_secret_cut_in_two() -> None:
    live, sent = stream(cap_bytes=1000, secrets=("hunter2",))
    live.feed("kept text hunt")
    live.cut()  # the executor's capture ended in the middle of the secret
    live.feed("er2 more")  # ignored: the stream is over
    live.close()
    assert "".join(sent) == "kept text \n" + live_cut_marker(1000)


def test_utf8_is_never_cut_in_the_middle_of_a_character() -> None:
    live, sent = stream(cap_bytes=5)
    live.feed("ééé")  # 6 bytes
    text = "".join(sent)
    assert text == "éé\n" + live_cut_marker(5)


def test_a_failing_listener_never_raises_and_is_still_called() -> None:
    calls: list[str] = []

    def broken(text: str) -> None:
        calls.append(text)
        raise RuntimeError("listener down")

    live = LiveStream(broken, cap_bytes=100)
    live.feed("a")
    live.feed("b")
    live.close()
    assert calls == ["a", "b"]


def test_no_listener_costs_nothing() -> None:
    live = LiveStream(None, cap_bytes=10, secrets=("x",))
    live.feed("x" * 100)
    live.cut()
    live.close()
    assert live.done
