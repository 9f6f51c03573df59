"""Turn a claimed run into the request its kind's executor understands, run it, and reduce
what came back to one ``ExecResult`` (with per-target results) that the run records.

This is the only place that knows every executor's request type; each executor keeps its one
``run(request) -> result`` method, and a fake can stand in for any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sophrosyne.crypto import redact
from sophrosyne.executors.ansible import AnsibleRequest, AnsibleResult
from sophrosyne.executors.base import ExecRequest, ExecResult
from sophrosyne.executors.http import HttpRequest, HttpResult
from sophrosyne.executors.script import ScriptRequest
from sophrosyne.executors.ssh import SshRequest, SshResult, TargetResult
from sophrosyne.flows.execute import Ticket

Cancel = Callable[[], bool]
Output = Callable[[str], None] | None


@dataclass(frozen=True)
class Limits:
    """Worker-wide settings every request gets."""

    output_cap_bytes: int = 64 * 1024
    #: Where ``ansible`` playbooks live (the config directory); None: ansible unavailable.
    playbook_root: Path | None = None


def _unavailable(ticket: Ticket) -> list[dict[str, Any]]:
    return [
        {"target": name, "outcome": "unavailable", "exit_code": None, "error": why}
        for name, why in ticket.unavailable.items()
    ]


def _failed(message: str, results: Sequence[Mapping[str, Any]] = ()) -> ExecResult:
    return ExecResult(None, "", False, 0.0, error=message, results=tuple(results))


def _section(name: str, text: str) -> str:
    return f"=== {name} ===\n{text}" + ("" if text.endswith("\n") or not text else "\n")


def from_ssh(result: SshResult, ticket: Ticket) -> ExecResult:
    """One result for a run on many hosts: exit 0 only if every target exited 0."""
    extra = _unavailable(ticket)
    per = [_target_entry(r) for r in result.results] + extra
    failed = [r for r in result.results if not r.succeeded]
    exit_code = 0 if result.succeeded and not extra else None
    if exit_code is None and failed and all(r.exit_code is not None for r in failed):
        exit_code = failed[0].exit_code
    ok = sum(r.succeeded for r in result.results)
    summary = f"{ok}/{len(per)} targets succeeded"
    problems = [f"{r.target}: {r.outcome}" for r in failed] + [
        f"{e['target']}: {e['error']}" for e in extra
    ]
    return ExecResult(
        exit_code=exit_code,
        output="".join(_section(r.target, r.output) for r in result.results),
        output_truncated=any(r.output_truncated for r in result.results),
        duration_seconds=result.duration_seconds,
        timed_out=any(r.timed_out for r in result.results),
        cancelled=any(r.cancelled for r in result.results),
        error=None if exit_code == 0 else "; ".join([summary, *problems]),
        results=tuple(per),
        learned_host_keys={
            r.target: r.learned_host_key for r in result.results if r.learned_host_key
        },
    )


def _target_entry(r: TargetResult) -> dict[str, Any]:
    return {
        "target": r.target,
        "outcome": "succeeded" if r.succeeded else r.outcome,
        "exit_code": r.exit_code,
        "output": r.output,
        "output_truncated": r.output_truncated,
        "duration_seconds": round(r.duration_seconds, 3),
        "error": r.error,
    }


def from_http(results: Sequence[tuple[str | None, HttpResult]], ticket: Ticket) -> ExecResult:
    extra = _unavailable(ticket)
    per: list[dict[str, Any]] = [
        {
            "target": name,
            "outcome": "succeeded" if r.succeeded else (r.error or f"status {r.status_code}"),
            "status_code": r.status_code,
            "output": r.output,
            "output_truncated": r.output_truncated,
            "duration_seconds": round(r.duration_seconds, 3),
            "error": r.error,
        }
        for name, r in results
    ]
    ok = all(r.succeeded for _, r in results) and bool(results) and not extra
    bad = [e for e in per if e["outcome"] != "succeeded"] + extra
    return ExecResult(
        exit_code=0 if ok else None,
        output="".join(
            _section(name or "request", r.output) if len(results) > 1 else r.output
            for name, r in results
        ),
        output_truncated=any(r.output_truncated for _, r in results),
        duration_seconds=max((r.duration_seconds for _, r in results), default=0.0),
        timed_out=any(r.timed_out for _, r in results),
        cancelled=any(r.cancelled for _, r in results),
        error=None
        if ok
        else "; ".join(
            f"{e['target'] or 'request'}: {e.get('error') or e['outcome']}" for e in bad
        ),
        results=tuple(per + extra),
    )


def from_ansible(result: AnsibleResult, ticket: Ticket) -> ExecResult:
    extra = _unavailable(ticket)
    per: list[dict[str, Any]] = []
    for host, counts in sorted(result.per_host.items()):
        broken = counts.get("failed", 0) or counts.get("unreachable", 0)
        per.append(
            {
                "target": host,
                "outcome": "failed" if broken else "succeeded",
                "counts": dict(counts),
                "tasks": [t for t in result.tasks if t.get("host") == host],
            }
        )
    ok = result.succeeded and not extra
    return ExecResult(
        exit_code=result.rc if result.rc is not None else None,
        output=result.output,
        output_truncated=result.output_truncated,
        duration_seconds=result.duration_seconds,
        timed_out=result.status == "timeout",
        cancelled=result.status == "canceled",
        error=None
        if ok
        else (result.error or f"playbook {result.status}")
        + "".join(f"; {e['target']}: {e['error']}" for e in extra),
        results=tuple(per + extra),
    )


class Dispatcher:
    """Runs a ticket on the executor of its kind. ``executors`` maps kind → executor."""

    def __init__(self, executors: Mapping[str, Any], limits: Limits | None = None) -> None:
        self.executors = dict(executors)
        self.limits = limits or Limits()

    def run(self, ticket: Ticket, *, should_cancel: Cancel, on_output: Output = None) -> ExecResult:
        executor = self.executors.get(ticket.kind)
        if executor is None:
            return _failed(f"no executor for action kind {ticket.kind!r} in this worker")
        if ticket.unavailable and not ticket.targets and ticket.kind != "http":
            return _failed("no target of the run is usable", _unavailable(ticket))
        try:
            handler = getattr(self, f"_{ticket.kind}")
            result: ExecResult = handler(executor, ticket, should_cancel, on_output)
        except ValueError as exc:
            # A request the executor refuses to build (stored before a rule changed, say).
            return _failed(redact(f"invalid request: {exc}", ticket.secrets), _unavailable(ticket))
        return result

    def _shell(self, executor: Any, t: Ticket, cancel: Cancel, out: Output) -> ExecResult:
        return executor.run(  # type: ignore[no-any-return]
            ExecRequest(
                argv=t.argv,
                timeout_seconds=t.timeout_seconds,
                output_cap_bytes=self.limits.output_cap_bytes,
                should_cancel=cancel,
                on_output=out,
            )
        )

    def _ssh_options(self, t: Ticket) -> dict[str, Any]:
        r = t.request
        return {
            "sudo": bool(r.get("sudo", False)),
            "connect_timeout_seconds": float(r.get("connect_timeout_seconds", 10)),
            "parallelism": int(r.get("parallelism", 8)),
        }

    def _ssh(self, executor: Any, t: Ticket, cancel: Cancel, out: Output) -> ExecResult:
        result = executor.run(
            SshRequest(
                targets=t.targets,
                argv=t.argv,
                timeout_seconds=t.timeout_seconds,
                output_cap_bytes=self.limits.output_cap_bytes,
                should_cancel=cancel,
                secrets=t.secrets,
                on_output=out,
                **self._ssh_options(t),
            )
        )
        return from_ssh(result, t)

    def _script(self, executor: Any, t: Ticket, cancel: Cancel, out: Output) -> ExecResult:
        r = t.request
        remote = r.get("run_on") == "targets"
        result = executor.run(
            ScriptRequest(
                interpreter=r["interpreter"],
                body=r["body"],
                args=list(r.get("args") or []),
                timeout_seconds=t.timeout_seconds,
                output_cap_bytes=self.limits.output_cap_bytes,
                should_cancel=cancel,
                on_output=out,
                targets=t.targets if remote else (),
                secrets=t.secrets,
                **self._ssh_options(t),
            )
        )
        return from_ssh(result, t) if isinstance(result, SshResult) else result

    def _http(self, executor: Any, t: Ticket, cancel: Cancel, out: Output) -> ExecResult:
        r = t.request
        expected = r.get("expected_status")
        reachable = {x.name for x in t.targets}
        calls = [
            c for c in r.get("calls", []) if c.get("target") is None or c["target"] in reachable
        ]

        def one(call: Mapping[str, Any]) -> tuple[str | None, HttpResult]:
            headers = dict(call.get("headers") or {})
            name = call.get("target")
            if r.get("auth") == "target_token":
                token = t.tokens.get(name or "")
                if not token:
                    return name, HttpResult(None, "", False, 0.0, error="target has no http_token")
                headers["Authorization"] = f"Bearer {token}"
            body = call.get("body")
            return name, executor.run(
                HttpRequest(
                    method=call["method"],
                    url=call["url"],
                    timeout_seconds=t.timeout_seconds,
                    headers=headers,
                    body=body.encode("utf-8") if body is not None else None,
                    expected_status=frozenset(expected) if expected else None,
                    output_cap_bytes=self.limits.output_cap_bytes,
                    should_cancel=cancel,
                    verify_tls=bool(r.get("verify_tls", True)),
                    follow_redirects=bool(r.get("follow_redirects", False)),
                )
            )

        if len(calls) <= 1:
            results = [one(c) for c in calls]
        else:
            with ThreadPoolExecutor(min(8, len(calls)), thread_name_prefix="http-call") as pool:
                results = list(pool.map(one, calls))
        if out is not None:
            for name, res in results:
                out(_section(name or "request", res.output))
        return from_http(results, t)

    def _ansible(self, executor: Any, t: Ticket, cancel: Cancel, out: Output) -> ExecResult:
        r = t.request
        result = executor.run(
            AnsibleRequest(
                playbook=Path(r["playbook"]),
                extra_vars=dict(r.get("extra_vars") or {}),
                targets=t.targets,
                timeout_seconds=t.timeout_seconds,
                forks=int(r.get("forks", 8)),
                output_cap_bytes=self.limits.output_cap_bytes,
                should_cancel=cancel,
                secrets=t.secrets,
                vault_password=t.vault_password,
                python_interpreter=r.get("python_interpreter"),
                on_output=out,
            )
        )
        return from_ansible(result, t)
