"""Send one notification through apprise: ``send(request) -> result``, and a fake beside it.

Apprise knows Slack, Microsoft Teams, e-mail (``mailto://``), Telegram, generic webhooks
(``json://``) and many more; a channel is one or more apprise URLs. URLs embed tokens, so
they travel as :class:`~sophrosyne.crypto.Secret` and every reason this module reports is
redacted of them. Apprise (2.x) returns a structured result whose per-service log entries say
why a send failed; its warnings and errors become the result's ``reason``.

The send runs in its own thread and is given up after ``timeout_seconds`` (apprise's own
timeouts still end the thread later). Executors never touch the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sophrosyne.crypto import Secret, redact

#: Apprise log levels that explain a failure (debug lines may quote whole URLs).
_WORTH_SAYING = frozenset({"WARNING", "ERROR", "CRITICAL"})


@dataclass(frozen=True)
class NotifyRequest:
    """One message to one channel: its apprise URLs, a title and a body."""

    urls: Sequence[Secret]
    title: str
    body: str
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class NotifyResult:
    """``ok`` when apprise delivered to every URL; otherwise ``reason`` says why not."""

    ok: bool
    reason: str | None = None
    duration_seconds: float = 0.0


class AppriseNotifier:
    """The real adapter: one ``apprise.Apprise`` per request, so nothing leaks between them."""

    def send(self, request: NotifyRequest) -> NotifyResult:
        started = time.monotonic()
        outcome: dict[str, NotifyResult] = {}
        worker = threading.Thread(
            target=lambda: outcome.setdefault("result", self._send(request)),
            name="sophrosyne-notify",
            daemon=True,
        )
        worker.start()
        worker.join(request.timeout_seconds)
        elapsed = time.monotonic() - started
        if "result" not in outcome:
            return NotifyResult(False, f"timed out after {request.timeout_seconds:g} s", elapsed)
        result = outcome["result"]
        return NotifyResult(result.ok, result.reason, elapsed)

    def _send(self, request: NotifyRequest) -> NotifyResult:
        import apprise  # heavy: imported on first use, never at import of this module

        try:
            client = apprise.Apprise()
            for url in request.urls:
                if not client.add(url.reveal()):
                    return NotifyResult(False, "an apprise URL of the channel is not valid")
            if len(client) == 0:
                return NotifyResult(False, "the channel has no URL")
            outcome = client.notify(
                title=request.title, body=request.body, timeout=request.timeout_seconds
            )
        except Exception as exc:  # noqa: BLE001 - apprise plugins may raise anything
            return NotifyResult(False, _clean(f"{type(exc).__name__}: {exc}", request.urls))
        if outcome:
            return NotifyResult(True)
        said = [
            entry.message
            for service in outcome.results
            for entry in service.logs()
            if entry.level in _WORTH_SAYING
        ]
        said += [e.message for e in outcome.call_logs() if e.level in _WORTH_SAYING]
        reason = "; ".join(dict.fromkeys(said)) or f"apprise: {outcome.status.name.lower()}"
        return NotifyResult(False, _clean(reason, request.urls))


def _clean(reason: str, urls: Sequence[Secret]) -> str:
    """``reason`` without any URL (nor the parts of it that carry credentials), and short."""
    parts: list[str] = []
    for url in urls:
        value = url.reveal()
        parts.append(value)
        _scheme, _, rest = value.partition("://")
        if rest:
            parts.extend(p for p in rest.replace("@", "/").split("/") if len(p) >= 8)
    return redact(reason, parts)[:1000]


@dataclass
class FakeNotifier:
    """Records every request; answers with ``responder(request)`` (success by default)."""

    responder: Callable[[NotifyRequest], NotifyResult] | None = None
    requests: list[NotifyRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def send(self, request: NotifyRequest) -> NotifyResult:
        with self._lock:
            self.requests.append(request)
        return self.responder(request) if self.responder else NotifyResult(True)


__all__ = ["AppriseNotifier", "FakeNotifier", "NotifyRequest", "NotifyResult"]
