"""Live output as it leaves an executor: redacted, capped and, for runs on several targets,
prefixed line by line with the target's name.

An executor feeds ``LiveStream`` the text it decoded, in whatever pieces the command wrote it,
and the stream hands its listener (``on_output``) only text that is safe to store:

* **Redacted across chunk boundaries.** A secret split over two reads is never sent in two
  halves: text that could be the beginning of a secret is held back until the next piece shows
  whether it is one (then it becomes ``[redacted]``) or not (then it is sent as it was).
* **Capped.** At most ``cap_bytes`` bytes (prefixes included) are sent, then one marker line,
  then nothing; ``cut()`` does the same when the executor's own capture ran out of room.
* **Prefixed** (when ``prefix`` is set) at the start of every line, and then sent whole lines
  at a time, so the lines of targets running side by side never mix. A partial line (a prompt,
  a progress bar, the last line without a newline) is sent after ``line_hold_seconds`` (via
  ``tick()``), when it grows long, or at the end, as a line of its own: the stream ends it with
  a newline, and what follows it starts a new, prefixed line. (The run's output keeps the
  exact text.)

A listener that raises is logged once and never fails the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sophrosyne.crypto import redact
from sophrosyne.logging import get_logger

log = get_logger(__name__)

Sink = Callable[[str], None]

#: A partial line longer than this is sent without waiting for its end.
_MAX_PARTIAL_LINE = 4096


def live_cut_marker(cap_bytes: int) -> str:
    """The line that ends a live stream the cap cut short."""
    return f"[live output truncated after {cap_bytes} bytes; the run's output has the rest]\n"


def _partial_secret_at_end(text: str, secrets: Iterable[str]) -> int:
    """How many characters at the end of ``text`` are the beginning of some secret."""
    longest = 0
    for secret in secrets:
        for size in range(min(len(secret) - 1, len(text)), longest, -1):
            if text.endswith(secret[:size]):
                longest = size
                break
    return longest


class _Redactor:
    """Redacts a stream of text, holding back only what might be the start of a secret."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._firsts = {s[0] for s in self.secrets}
        self._longest = max((len(s) for s in self.secrets), default=0)
        self._pending = ""

    def feed(self, text: str) -> str:
        """What of ``pending + text`` can be sent now, redacted."""
        if not self.secrets:
            return text
        buffer = self._pending + text
        hold = self._hold_from(buffer)
        self._pending = buffer[hold:]
        return redact(buffer[:hold], self.secrets)

    def flush(self, *, complete: bool) -> str:
        """Everything still held. ``complete=False``: the text after it was cut away, so a
        secret's first characters left at the end are dropped rather than sent."""
        text, self._pending = redact(self._pending, self.secrets), ""
        if not complete:
            text = text[: len(text) - _partial_secret_at_end(text, self.secrets)]
        return text

    def _hold_from(self, buffer: str) -> int:
        size = len(buffer)
        hold = size
        # The earliest position from which the rest of the buffer could grow into a secret.
        for pos in range(max(0, size - self._longest + 1), size):
            if buffer[pos] in self._firsts and any(
                len(s) > size - pos and s.startswith(buffer[pos:]) for s in self.secrets
            ):
                hold = pos
                break
        if hold == size:
            return hold
        # A whole secret that overlaps the held text is held too (and one overlapping that…),
        # or a piece of it would be sent before the two could be redacted as one.
        moved = True
        while moved:
            moved = False
            for secret in self.secrets:
                # Found from here on, an occurrence that starts before ``hold`` crosses it.
                start = buffer.find(secret, max(0, hold - len(secret) + 1))
                if start != -1 and start < hold:
                    hold, moved = start, True
        return hold


class LiveStream:
    """One target's (or one command's) live output, on its way to ``sink``."""

    def __init__(
        self,
        sink: Sink | None,
        *,
        cap_bytes: int,
        secrets: Iterable[str] = (),
        prefix: str = "",
        line_hold_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self.cap = max(cap_bytes, 0)
        self.prefix = prefix
        self.line_hold_seconds = line_hold_seconds
        self._clock = clock
        self._redactor = _Redactor(secrets)
        self._line = ""  # a partial line waiting for its end (prefixed streams only)
        self._line_since = 0.0
        self._at_line_start = True  # unprefixed streams: where the marker must start
        self.sent_bytes = 0
        self.done = sink is None
        self._sink_failed = False

    # -- what executors call ---------------------------------------------------------------

    def feed(self, text: str) -> None:
        if self.done or not text:
            return
        self._lines(self._redactor.feed(text))

    def tick(self) -> None:
        """Send a partial line that has waited ``line_hold_seconds``; call it periodically."""
        if self._line and self._clock() - self._line_since >= self.line_hold_seconds:
            self._send_partial()

    def cut(self) -> None:
        """The executor stopped keeping output: send what is safe, then the marker; no more."""
        if self.done:
            return
        self._lines(self._redactor.flush(complete=False))
        self._send_partial()
        self._marker()  # unless sending the rest already reached the cap and said so

    def close(self) -> None:
        """The output ended: send everything still held."""
        if self.done:
            return
        self._lines(self._redactor.flush(complete=True))
        self._send_partial()
        self.done = True

    # -- internals -------------------------------------------------------------------------

    def _lines(self, text: str) -> None:
        if not text:
            return
        if not self.prefix:
            self._send(text)
            return
        if not self._line:
            self._line_since = self._clock()
        self._line += text
        end = self._line.rfind("\n") + 1
        if end:
            whole, self._line = self._line[:end], self._line[end:]
            self._line_since = self._clock()
            self._send(self._prefixed(whole))
        if len(self._line) > _MAX_PARTIAL_LINE:
            self._send_partial()

    def _send_partial(self) -> None:
        if self._line:
            line, self._line = self._line, ""
            self._send(self._prefixed(line + "\n"))

    def _prefixed(self, lines: str) -> str:
        """``lines`` (each ending with a newline) with the prefix before each."""
        return "".join(f"{self.prefix}{line}\n" for line in lines.split("\n")[:-1])

    def _send(self, text: str) -> None:
        if self.done or not text:
            return
        data = text.encode("utf-8")
        room = self.cap - self.sent_bytes
        if len(data) > room:
            self._marker(data[:room].decode("utf-8", errors="ignore"))
            return
        self.sent_bytes += len(data)
        self._deliver(text)

    def _marker(self, last: str = "") -> None:
        """Send ``last`` (what still fits) and the marker, as one chunk; then stop."""
        if self.done:
            return
        at_line_start = last.endswith("\n") if last else self._at_line_start
        ending = "" if at_line_start else "\n"
        self._deliver(last + ending + self.prefix + live_cut_marker(self.cap))
        self.done = True

    def _deliver(self, text: str) -> None:
        if not text or self._sink is None:
            return
        if not self.done:
            self._at_line_start = text.endswith("\n")
        try:
            self._sink(text)
        except Exception:
            # Live output is a convenience; a broken listener must not fail the run.
            if not self._sink_failed:
                log.warning("live_output.sink_failed", exc_info=True)
            self._sink_failed = True
