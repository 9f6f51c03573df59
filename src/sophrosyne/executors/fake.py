"""A stand-in executor for tests of everything above the executors: records, never runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sophrosyne.executors.base import ExecRequest, ExecResult


def _echo_argv(request: ExecRequest) -> ExecResult:
    return ExecResult(0, "fake: " + " ".join(request.argv), False, 0.0)


class FakeExecutor:
    """Records every request in ``requests`` and answers with ``responder(request)``.

    With ``delay_seconds`` it pretends the command takes that long, honouring
    ``should_cancel`` and the request's timeout the way a real executor would.
    """

    def __init__(
        self,
        responder: Callable[[ExecRequest], ExecResult] | None = None,
        *,
        delay_seconds: float = 0.0,
        poll_interval: float = 0.01,
    ) -> None:
        self.requests: list[ExecRequest] = []
        self._lock = threading.Lock()  # workers may share one fake across threads
        self._responder = responder or _echo_argv
        self.delay_seconds = delay_seconds
        self.poll_interval = poll_interval

    def run(self, request: ExecRequest) -> ExecResult:
        with self._lock:
            self.requests.append(request)
        started = time.monotonic()
        end = started + self.delay_seconds
        deadline = started + request.timeout_seconds
        while (now := time.monotonic()) < end:
            if request.should_cancel():
                return ExecResult(None, "", False, now - started, cancelled=True)
            if now >= deadline:
                return ExecResult(None, "", False, now - started, timed_out=True)
            time.sleep(min(self.poll_interval, end - now))
        result = self._responder(request)
        if request.on_output is not None and result.output:
            request.on_output(result.output)
        return result
