"""SshExecutor against a real OpenSSH server on loopback: nothing mocked."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sophrosyne.executors.ssh import (
    SshExecutor,
    SshRequest,
    SshResult,
    SshTarget,
    TargetResult,
    remote_command,
)
from tests.executors.sshd import SshServer, generate_key, sshd

__all__ = ["sshd"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)


def target(server: SshServer, name: str = "web1", **overrides: object) -> SshTarget:
    fields: dict[str, object] = {
        "name": name,
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "private_key": server.user_private_key,
        "known_host_keys": (server.host_public_key,),
    }
    fields.update(overrides)
    return SshTarget(**fields)  # type: ignore[arg-type]


def run(server: SshServer, *argv: str, **options: object) -> TargetResult:
    targets = options.pop("targets", None) or [target(server)]
    result = SshExecutor().run(SshRequest(targets=targets, argv=argv, **options))  # type: ignore[arg-type]
    assert len(result.results) == 1
    return result.results[0]


def wait_until(condition: object, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def remote_processes(marker: str) -> str:
    return subprocess.run(
        ["pgrep", "-af", marker], check=False, capture_output=True, text=True, timeout=5
    ).stdout


def test_command_on_one_target(sshd: SshServer) -> None:
    result = run(sshd, "sh", "-c", "echo out; echo err >&2; exit 0")
    assert result.exit_code == 0, result
    assert result.succeeded and result.error is None
    assert result.output.splitlines() == ["out", "err"]
    assert not result.output_truncated and not result.timed_out and not result.cancelled
    assert result.target == "web1" and result.learned_host_key is None


def test_nonzero_exit_is_reported_not_raised(sshd: SshServer) -> None:
    result = run(sshd, "sh", "-c", "echo failing; exit 3")
    assert result.exit_code == 3
    assert result.output == "failing\n"
    assert not result.succeeded and result.error is None


def test_hostile_values_stay_literal_words(sshd: SshServer, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    hostile = [
        "; rm -rf /",
        "$(id)",
        "`id`",
        "a\nb",
        "--help",
        "it's",
        f"; touch {canary}",
        f"$(touch {canary})",
        f"`touch {canary}`",
        f"' ; touch {canary} ; '",
        "*",
        "$HOME",
        "",
    ]
    result = run(sshd, "printf", "%s\\n", *hostile)
    assert result.exit_code == 0, result
    assert result.output == "".join(value + "\n" for value in hostile)
    assert not canary.exists()


def test_remote_command_quotes_every_word() -> None:
    assert remote_command(["echo", "a b", "$(id)"]) == "echo 'a b' '$(id)'"
    assert remote_command(["id", "-u"], sudo=True) == "sudo -n -- id -u"


def test_sudo_prefix_reaches_the_remote_side(sshd: SshServer) -> None:
    result = run(sshd, "id", "-u", sudo=True)
    # Whether or not this machine has sudo, the remote side ran "sudo -n -- id -u".
    if result.exit_code == 0:
        assert result.output.strip() == "0"
    else:
        assert result.exit_code == 127 and "sudo" in result.output


def test_two_targets_run_in_parallel(sshd: SshServer) -> None:
    targets = [target(sshd, "a"), target(sshd, "b")]
    request = SshRequest(targets=targets, argv=["sh", "-c", "sleep 1; echo done"])
    result = SshExecutor().run(request)
    assert [r.target for r in result.results] == ["a", "b"]
    assert all(r.exit_code == 0 and r.output == "done\n" for r in result.results), result
    assert result.succeeded and result.summary == "2/2 targets succeeded"
    assert result.duration_seconds < 1.9  # together, not one after the other


def test_parallelism_bounds_targets_at_once(sshd: SshServer) -> None:
    targets = [target(sshd, "a"), target(sshd, "b")]
    request = SshRequest(targets=targets, argv=["sleep", "0.5"], parallelism=1)
    result = SshExecutor().run(request)
    assert result.succeeded, result.summary
    assert result.duration_seconds >= 1.0


def test_one_failing_target_does_not_sink_the_others(sshd: SshServer) -> None:
    targets = [target(sshd, "good"), target(sshd, "bad", known_host_keys=())]
    result = SshExecutor().run(SshRequest(targets=targets, argv=["true"]))
    good, bad = result.results
    assert good.succeeded and not bad.succeeded and not result.succeeded
    assert result.summary.startswith("1/2 targets succeeded; bad: host key not trusted")


def accepted_logins(server: SshServer) -> int:
    return server.log_text().count("Accepted publickey")


def connections(server: SshServer) -> int:
    return server.log_text().count("Connection from")


def test_wrong_host_key_is_refused_before_authentication(sshd: SshServer, tmp_path: Path) -> None:
    _, other_key = generate_key(tmp_path / "other_host_key")
    before = accepted_logins(sshd)
    result = run(sshd, "true", targets=[target(sshd, known_host_keys=(other_key,))])
    assert result.exit_code is None
    assert result.error is not None and "host key verification failed" in result.error
    assert f"{sshd.host}:{sshd.port}" in result.error
    time.sleep(0.3)  # sshd would have logged an accepted login by now
    assert accepted_logins(sshd) == before


def test_unknown_host_key_without_tofu_is_refused_without_connecting(sshd: SshServer) -> None:
    time.sleep(0.2)
    before = connections(sshd)
    result = run(sshd, "true", targets=[target(sshd, known_host_keys=())])
    assert result.exit_code is None
    assert result.error == f"host key not trusted: no known key for {sshd.host}:{sshd.port}"
    time.sleep(0.3)
    assert connections(sshd) == before


def test_trust_on_first_use_learns_the_host_key(sshd: SshServer) -> None:
    tofu = target(sshd, known_host_keys=(), trust_on_first_use=True)
    result = run(sshd, "echo", "hello", targets=[tofu])
    assert result.exit_code == 0, result
    assert result.output == "hello\n"
    assert result.learned_host_key == sshd.host_public_key


def test_known_key_wins_over_trust_on_first_use(sshd: SshServer, tmp_path: Path) -> None:
    _, other_key = generate_key(tmp_path / "other_host_key")
    pinned = target(sshd, known_host_keys=(other_key,), trust_on_first_use=True)
    result = run(sshd, "true", targets=[pinned])
    assert result.error is not None and "host key verification failed" in result.error
    assert result.learned_host_key is None


def test_command_timeout_stops_the_remote_process(sshd: SshServer) -> None:
    marker = f"30.{uuid.uuid4().int % 10**9:09d}"  # a unique sleep length to find it by
    started = time.monotonic()
    result = run(sshd, "sleep", marker, timeout_seconds=1)
    assert result.timed_out and result.exit_code is None, result
    assert time.monotonic() - started < 5
    assert wait_until(lambda: f"sleep {marker}" not in remote_processes(marker)), remote_processes(
        marker
    )


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


def test_connect_timeout_against_a_silent_port(sshd: SshServer, silent_listener: int) -> None:
    silent = target(sshd, port=silent_listener)
    started = time.monotonic()
    result = run(sshd, "true", targets=[silent], connect_timeout_seconds=1)
    assert time.monotonic() - started < 4
    assert result.exit_code is None and not result.timed_out
    assert result.error is not None and "timed out" in result.error, result


def test_connection_refused_is_an_error(sshd: SshServer, silent_listener: int) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(sshd, "true", targets=[target(sshd, port=port)], connect_timeout_seconds=2)
    assert result.exit_code is None
    assert result.error is not None and result.error.startswith("cannot connect to")


def test_cancel_stops_a_long_command(sshd: SshServer) -> None:
    marker = f"31.{uuid.uuid4().int % 10**9:09d}"
    started = time.monotonic()
    targets = [target(sshd, "a"), target(sshd, "b")]
    result: SshResult = SshExecutor().run(
        SshRequest(
            targets=targets,
            argv=["sleep", marker],
            timeout_seconds=30,
            should_cancel=lambda: time.monotonic() - started > 0.5,
        )
    )
    assert time.monotonic() - started < 4
    assert all(r.cancelled and r.exit_code is None for r in result.results), result
    assert result.summary == "0/2 targets succeeded; a: cancelled; b: cancelled"
    assert wait_until(lambda: f"sleep {marker}" not in remote_processes(marker))


def test_output_cap_keeps_the_start_and_says_so(sshd: SshServer) -> None:
    result = run(sshd, "sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", output_cap_bytes=1000)
    assert result.exit_code == 0
    assert result.output_truncated
    assert result.output == "x" * 1000 + "\n[output truncated: kept first 1000 bytes of 100000]"


def test_secrets_are_redacted_from_output_and_logs(
    sshd: SshServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "hunter2-" + uuid.uuid4().hex
    result = run(sshd, "sh", "-c", 'echo "token=$1 again:$1"', "sh", secret, secrets=(secret,))
    assert result.exit_code == 0
    assert result.output == "token=[redacted] again:[redacted]\n"
    assert caplog.records  # asyncssh did log the connection, but not the command line
    assert secret not in caplog.text


def test_secret_cut_by_the_output_cap_is_not_leaked(sshd: SshServer) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    result = run(sshd, "printf", "%s", "x" * 990 + secret, output_cap_bytes=1000, secrets=(secret,))
    assert result.output_truncated
    assert secret[:5] not in result.output
    assert result.output.startswith("x" * 990)


def test_empty_argv_is_an_error_not_a_connection(sshd: SshServer) -> None:
    result = run(sshd)
    assert result.exit_code is None and result.error == "cannot start: empty argv"


def test_command_that_leaves_a_background_process_behind(sshd: SshServer) -> None:
    marker = f"32.{uuid.uuid4().int % 10**9:09d}"
    started = time.monotonic()
    result = run(sshd, "sh", "-c", f"sleep {marker} & echo started", timeout_seconds=20)
    # The command itself exited 0; its leftover holds the output open, so it is stopped.
    assert result.exit_code == 0 and result.output == "started\n", result
    assert not result.timed_out and time.monotonic() - started < 6
    assert wait_until(lambda: f"sleep {marker}" not in remote_processes(marker))


def test_command_killed_by_a_signal(sshd: SshServer) -> None:
    result = run(sshd, "sh", "-c", "kill -9 $$")
    assert result.exit_code == -9
    assert result.error == "killed by signal KILL"


def test_passphrase_protected_key(sshd: SshServer, tmp_path: Path) -> None:
    # Legacy PEM encryption: decrypting OpenSSH-format keys would also need bcrypt.
    private, public = generate_key(
        tmp_path / "id_locked", passphrase="open sesame", key_type="ecdsa", key_format="PEM"
    )
    sshd.authorize(public)
    good = target(sshd, private_key=private, passphrase="open sesame")
    assert run(sshd, "echo", "in", targets=[good]).output == "in\n"
    bad = run(sshd, "true", targets=[target(sshd, private_key=private, passphrase="nope")])
    assert bad.exit_code is None
    assert bad.error is not None and bad.error.startswith("cannot load private key:")
    assert "nope" not in bad.error


def test_unauthorised_key_fails_authentication(sshd: SshServer, tmp_path: Path) -> None:
    private, _ = generate_key(tmp_path / "id_stranger")
    result = run(sshd, "true", targets=[target(sshd, private_key=private)])
    assert result.exit_code is None
    assert result.error == f"authentication failed for {sshd.user}@{sshd.host}:{sshd.port}"


class Chunks:
    """An ``on_output`` listener that remembers when each chunk came."""

    def __init__(self) -> None:
        self.items: list[tuple[float, str]] = []

    def __call__(self, text: str) -> None:
        self.items.append((time.monotonic(), text))

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.items)


def test_output_streams_per_target_while_the_command_runs(sshd: SshServer) -> None:
    chunks = Chunks()
    request = SshRequest(
        targets=[target(sshd, "a"), target(sshd, "b")],
        argv=["sh", "-c", "echo first; sleep 1; printf 'second\\nno newline'"],
        on_output=chunks,
    )
    result = SshExecutor().run(request)
    finished = time.monotonic()
    assert result.succeeded, result.summary
    firsts = [at for at, text in chunks.items if "first" in text]
    assert len(firsts) == 2 and all(finished - at >= 0.5 for at in firsts), chunks.items
    for name in ("a", "b"):
        lines = [line for line in chunks.text.splitlines() if line.startswith(f"[{name}] ")]
        assert lines == [f"[{name}] first", f"[{name}] second", f"[{name}] no newline"]
    # Each chunk holds whole lines of one target (the unfinished last line comes at the end).
    assert all(text.startswith(("[a] ", "[b] ")) for _, text in chunks.items)


def test_live_output_is_redacted_even_when_a_secret_is_split(sshd: SshServer) -> None:
    secret = "hunter2-" + uuid.uuid4().hex
    half = len(secret) // 2
    chunks = Chunks()
    # The pause puts the halves in separate reads; a loaded machine may also flush the partial
    # line in between (after 0.5 s, as its own line): either way no half may ever show.
    script = 'printf "token=%s" "$1"; sleep 0.2; printf "%s seen\\n" "$2"'
    result = run(
        sshd, "sh", "-c", script, "sh", secret[:half], secret[half:],
        secrets=(secret,), on_output=chunks,
    )  # fmt: skip
    assert result.exit_code == 0
    assert chunks.text.replace("\n[web1] ", "") == "[web1] token=[redacted] seen\n"
    assert all(secret[:half] not in text for _, text in chunks.items)


def test_live_output_is_capped_per_target(sshd: SshServer) -> None:
    chunks = Chunks()
    request = SshRequest(
        targets=[target(sshd, "a"), target(sshd, "b")],
        argv=["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"],
        output_cap_bytes=1000,
        on_output=chunks,
    )
    result = SshExecutor().run(request)
    assert all(r.output_truncated for r in result.results)
    for name in ("a", "b"):
        mine = "".join(text for _, text in chunks.items if text.startswith(f"[{name}] "))
        assert mine.count("truncated") == 1, mine[-200:]
        assert len(mine.encode()) <= 1000 + 200


def test_live_output_up_to_a_cancel(sshd: SshServer) -> None:
    marker = f"33.{uuid.uuid4().int % 10**9:09d}"
    chunks = Chunks()
    result = run(
        sshd,
        "sh",
        "-c",
        'echo "about to sleep"; sleep "$1"',
        "sh",
        marker,
        timeout_seconds=30,
        should_cancel=lambda: "about to sleep" in chunks.text,
        on_output=chunks,
    )
    assert result.cancelled
    assert chunks.text == "[web1] about to sleep\n"
    assert wait_until(lambda: f"sleep {marker}" not in remote_processes(marker))
