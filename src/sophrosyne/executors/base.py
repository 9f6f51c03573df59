"""The one interface every executor implements: ``run(request) -> result``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


def never() -> bool:
    """The default ``should_cancel``: nobody asked to stop."""
    return False


def truncation_marker(kept: int | str, total: int | str) -> str:
    """The line every executor appends to output it cut, so readers always see the same words."""
    return f"\n[output truncated: kept first {kept} bytes of {total}]"


@dataclass(frozen=True)
class ExecRequest:
    """Everything an executor needs; already rendered and validated."""

    argv: Sequence[str]
    timeout_seconds: float
    output_cap_bytes: int = 64 * 1024
    env: dict[str, str] | None = None
    #: Polled while the command runs; True asks the executor to stop it (run cancelled).
    should_cancel: Callable[[], bool] = field(default=never)
    #: Called with each chunk of output as it arrives (for live output); may be None.
    on_output: Callable[[str], None] | None = None


@dataclass(frozen=True)
class ExecResult:
    """What happened. ``exit_code`` is None when the command never started or was killed."""

    exit_code: int | None
    output: str
    output_truncated: bool
    duration_seconds: float
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None
    #: One entry per target for runs on several hosts (target, outcome, exit code, output…).
    results: tuple[Mapping[str, Any], ...] = ()
    #: Host keys accepted by trust on first use: target name → key, for the caller to record.
    learned_host_keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.cancelled or self.error)


class Executor(Protocol):
    """Runs one request to completion and reports; never raises for a failing command."""

    def run(self, request: ExecRequest) -> ExecResult: ...
