"""Worker steps, each run by the worker inside its own short transaction:
claim a run, record its result, beat the heart of running runs, reap those of dead workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.crypto import CryptoError, Keyring
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.confirmations import service as confirmations
from sophrosyne.domains.fixes import service as fixes
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.runs.states import RunState
from sophrosyne.domains.targets import service as targets_service
from sophrosyne.errors import Conflict
from sophrosyne.executors.base import ExecResult
from sophrosyne.executors.ssh import SshTarget
from sophrosyne.flows import maintenance
from sophrosyne.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Ticket:
    """What a worker needs to execute a claimed run, detached from the session.

    Credentials were decrypted at claim time and live only in memory, out of ``repr``.
    """

    run_id: int
    kind: str
    action_name: str
    argv: list[str]
    timeout_seconds: int
    created_at: datetime
    started_at: datetime
    request: Mapping[str, Any] = field(default_factory=dict)
    #: The run's targets that can be reached, with their credentials.
    targets: tuple[SshTarget, ...] = ()
    #: Targets of the run that cannot be used, and why (deleted, disabled, no key to decrypt).
    unavailable: Mapping[str, str] = field(default_factory=dict)
    #: http_token per target name.
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    vault_password: str | None = field(default=None, repr=False)
    #: Every credential value, so output and errors can be redacted.
    secrets: tuple[str, ...] = field(default=(), repr=False)


def _access(
    session: Session, names: list[str], keyring: Keyring | None
) -> tuple[list[SshTarget], dict[str, str], dict[str, str], list[str]]:
    """(usable targets, unavailable → why, http tokens, vault passwords) for ``names``."""
    # Only the run's own targets: claims must not grow with the size of the inventory.
    found = {t.name: t for t in targets_service.by_names(session, names)} if names else {}
    usable: list[SshTarget] = []
    unavailable: dict[str, str] = {}
    tokens: dict[str, str] = {}
    vaults: list[str] = []
    for name in names:
        target = found.get(name)
        if target is None:
            unavailable[name] = "target no longer exists"
            continue
        if not target.enabled:
            unavailable[name] = "target is disabled"
            continue
        secrets: dict[str, str] = {}
        if target.secrets:
            if keyring is None:
                unavailable[name] = "target has credentials but no secret key is configured"
                continue
            try:
                revealed = targets_service.reveal_secrets(session, keyring, target)
            except CryptoError as exc:
                unavailable[name] = f"cannot decrypt the target's credentials: {exc}"
                continue
            secrets = {kind: value.reveal() for kind, value in revealed.items()}
        usable.append(
            SshTarget(
                name=target.name,
                host=target.address,
                port=target.port,
                user=target.user or "root",
                private_key=secrets.get("ssh_private_key"),
                passphrase=secrets.get("ssh_passphrase"),
                password=secrets.get("password"),
                known_host_keys=tuple(target.host_keys),
                trust_on_first_use=target.trust_on_first_use,
            )
        )
        if "http_token" in secrets:
            tokens[name] = secrets["http_token"]
        if "vault_password" in secrets:
            vaults.append(secrets["vault_password"])
    return usable, unavailable, tokens, vaults


def claim(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    keyring: Keyring | None = None,
    rules: RuleCache | None = None,
) -> Ticket | None:
    """Claim the next run that can start; with ``rules``, automatic runs on targets in an
    open maintenance window are passed over (held, see ``flows.maintenance``)."""
    held = maintenance.holds(session, rules, now=now) if rules is not None else None
    run = runs.claim(
        session,
        worker_id=worker_id,
        now=now,
        held=sorted(held.targets) if held else (),
        skip=sorted(held.runs) if held else (),
    )
    if run is None:
        return None
    usable, unavailable, tokens, vaults = _access(session, list(run.targets), keyring)
    secrets = [v for t in usable for v in (t.private_key, t.passphrase, t.password) if v]
    audit.record(
        session,
        actor=f"worker:{worker_id}",
        action="run.started",
        object_type="run",
        object_id=run.id,
        detail={"action": run.action_name, "attempt": run.attempt},
        now=now,
    )
    return Ticket(
        run_id=run.id,
        kind=run.kind,
        action_name=run.action_name,
        argv=list(run.argv),
        timeout_seconds=run.timeout_seconds,
        created_at=run.created_at,
        started_at=now,
        request=dict(run.request),
        targets=tuple(usable),
        unavailable=unavailable,
        tokens=tokens,
        # One vault password per playbook run: the first target's (they share a vault).
        vault_password=vaults[0] if vaults else None,
        secrets=tuple(secrets + list(tokens.values()) + vaults),
    )


def outcome_of(result: ExecResult) -> runs.Outcome:
    """Map an executor's report onto a terminal run state."""
    if result.cancelled:
        state, reason = RunState.CANCELLED, "cancelled while running"
    elif result.timed_out:
        state, reason = RunState.TIMED_OUT, "timed out; process group killed"
    elif result.succeeded:
        state, reason = RunState.SUCCEEDED, "exit code 0"
    elif result.error and result.exit_code is None:
        state, reason = RunState.FAILED, result.error
    else:
        state, reason = RunState.FAILED, f"exit code {result.exit_code}"
    return runs.Outcome(
        state=state,
        exit_code=result.exit_code,
        output=result.output,
        output_truncated=result.output_truncated,
        error=result.error,
        reason=reason,
        results=[dict(r) for r in result.results],
    )


def record(
    session: Session, ticket: Ticket, result: ExecResult, *, worker_id: str, now: datetime
) -> Run:
    run = runs.finish(session, ticket.run_id, outcome_of(result), now=now)
    for name, key in result.learned_host_keys.items():
        _learn_host_key(session, name, key, run_id=run.id, worker_id=worker_id, now=now)
    audit.record(
        session,
        actor=f"worker:{worker_id}",
        action="run.finished",
        object_type="run",
        object_id=run.id,
        detail={
            "action": run.action_name,
            "state": run.state,
            "exit_code": run.exit_code,
            "duration_seconds": round(result.duration_seconds, 3),
        },
        now=now,
    )
    fixes.record_run(session, run, now=now)  # the history of fixes learns from it
    return run


def _learn_host_key(
    session: Session, name: str, key: str, *, run_id: int, worker_id: str, now: datetime
) -> None:
    """Record a host key that trust on first use accepted, and audit it: from now on a
    different key from that host is refused."""
    target = targets_service.find_by_name(session, name)
    if target is None:
        return
    try:
        added = targets_service.record_learned_host_key(session, target, key, now=now)
    except Conflict as exc:
        log.warning("target.host_key_not_learned", target=name, reason=str(exc))
        return
    if added:
        audit.record(
            session,
            actor=f"worker:{worker_id}",
            action="target.host_key_learned",
            object_type="target",
            object_id=target.id,
            detail={"target": name, "host_key": key, "run_id": run_id},
            now=now,
        )


def heartbeat(session: Session, *, worker_id: str, run_ids: list[int], now: datetime) -> set[int]:
    return runs.heartbeat(session, worker_id=worker_id, run_ids=run_ids, now=now)


def reap(session: Session, *, lease_seconds: float, now: datetime, actor: str) -> list[int]:
    reaped = runs.reap(session, lease_seconds=lease_seconds, now=now)
    for run in reaped:
        audit.record(
            session,
            actor=actor,
            action="run.requeued" if run.state == RunState.QUEUED else "run.interrupted",
            object_type="run",
            object_id=run.id,
            detail={"action": run.action_name, "state": run.state},
            now=now,
        )
    return [r.id for r in reaped]


def expire(session: Session, *, now: datetime, actor: str) -> list[int]:
    """Runs that waited for confirmation past their deadline become ``expired``, audited."""
    expired = confirmations.expire_due(session, now=now)
    for run in expired:
        audit.record(
            session,
            actor=actor,
            action="run.expired",
            object_type="run",
            object_id=run.id,
            detail={"action": run.action_name, "expires_at": str(run.expires_at)},
            now=now,
        )
    return [r.id for r in expired]
