"""What one SSH target's command prints, on its way to the result and the live stream.

The command runs as ``echo <token> $$; <words>``: the first line that carries the token names
the remote process group (for ``kill``) and is stripped; the rest is kept up to the cap (and a
little past it, so a secret the cap cuts through is still redacted), and streamed live.
"""

from __future__ import annotations

import codecs
import re
import secrets as _random
from collections.abc import Sequence

from sophrosyne.crypto import redact
from sophrosyne.executors.base import truncation_marker
from sophrosyne.executors.live import LiveStream

_MARKER_SEARCH_BYTES = 4096  # stop looking for the pid line after this much output


class TargetOutput:
    """One target's output: strips the pid line, caps, redacts when finished, and streams."""

    def __init__(self, cap_bytes: int, secrets: Sequence[str], live: LiveStream) -> None:
        self.cap = max(cap_bytes, 0)
        self.live = live
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.token = _random.token_hex(8)
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        # Keep a little past the cap, so a secret the cap cuts through is still redacted.
        self._window = self.cap + max((len(s.encode()) for s in self.secrets), default=0)
        self._marker = re.compile(re.escape(self.token.encode()) + rb" ([1-9][0-9]*)\n")
        self._pending: bytearray | None = bytearray()  # output before the pid line
        self._kept = bytearray()
        self.total = 0
        self.pid: int | None = None

    def feed(self, data: bytes, *, final: bool = False) -> None:
        if self._pending is not None:
            self._pending += data
            if match := self._marker.search(self._pending):
                self.pid = int(match[1])
                del self._pending[match.start() : match.end()]
            elif len(self._pending) <= _MARKER_SEARCH_BYTES and not final:
                return
            data, self._pending = bytes(self._pending), None
        room = self.cap - self.total
        self.total += len(data)
        self._kept += data[: max(0, self._window - len(self._kept))]
        if room > 0:
            self.live.feed(self._decoder.decode(data[:room], final=final))
        if self.truncated:
            self.live.cut()

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def finish(self) -> str:
        self.feed(b"", final=True)
        self.live.close()
        text = self.redact(self._kept.decode("utf-8", errors="replace"))
        if not self.truncated:
            return text
        text = text.encode()[: self.cap].decode("utf-8", errors="ignore")
        for secret in self.secrets:  # drop a secret's first characters left at the cut
            size = next((n for n in range(len(secret) - 1, 0, -1) if text.endswith(secret[:n])), 0)
            text = text[: len(text) - size]
        return text + truncation_marker(self.cap, self.total)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)
