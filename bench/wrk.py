"""Drive ``wrk`` with ``lua/alerts.lua`` and parse what it prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from servers import BenchError

SCRIPT = Path(__file__).resolve().parent / "lua" / "alerts.lua"
_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Load:
    """How hard to push: wrk's threads, connections and duration (seconds)."""

    threads: int = 2
    connections: int = 8
    duration: int = 10


@dataclass
class WrkResult:
    """What wrk measured: completed requests, refusals, time and latency percentiles."""

    requests: int
    non_2xx: int
    socket_errors: int
    duration_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        """Requests answered 2xx (wrk counts any status above 399 as non-2xx/3xx)."""
        return self.requests - self.non_2xx

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_version() -> str:
    """wrk's version line."""
    binary = shutil.which("wrk")
    if not binary:
        raise BenchError("wrk is not installed: run scripts/system-deps.sh")
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0].strip()


def _ms(number: str, unit: str) -> float:
    return float(number) * _TIME_UNITS[unit]


def parse(text: str) -> WrkResult:
    """Parse wrk's report (with ``--latency``)."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),", text)
    if not done:
        raise BenchError(f"cannot read wrk's output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    latency = {
        f"p{pct}": _ms(value, unit)
        for pct, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M)
    }
    return WrkResult(
        requests=int(done.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        duration_s=float(done.group(2)) * _DURATION_UNITS[done.group(3)],
        latency_ms=latency,
    )


def run(
    url: str,
    *,
    fmt: str,
    batch: int,
    phase: int,
    load: Load,
    starts_at: str,
    ends_at: str,
    names: int,
    token: str = "",
    duration: int | None = None,
) -> WrkResult:
    """POST unique alerts to ``url`` for ``duration`` (default ``load.duration``) seconds.

    ``fmt`` is ``webhook`` (Alertmanager's webhook, for Sophrosyne) or ``amv2`` (Alertmanager's
    own API). ``phase`` makes every fingerprint and instance label of this call unique.
    """
    seconds = duration if duration is not None else load.duration
    cmd = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(SCRIPT),
        url,
        "--",
        fmt,
        str(batch),
        str(phase),
        str(names),
        starts_at,
        ends_at,
    ]
    # The token goes through the environment, not the command line (visible in ps).
    env = {**os.environ, "BENCH_TOKEN": token}
    done = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout)
