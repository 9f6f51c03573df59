"""ORM models of runs (the durable work queue and audit record at once) and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Run(Base):
    """One execution of an action with concrete parameters, rendered before it is queued."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_state_id", "state", "id"),
        Index("ix_runs_rule_alert", "rule_id", "alert_id"),
        # An action's rate limit counts its runs within a window. (A rule's guards count in
        # ``guarded_runs``: an index led by rule_id here would dirty a leaf page per rule in
        # every ingest batch.)
        Index("ix_runs_action_created", "action_id", "created_at"),
        # The runs of an alert episode: the alert page, "did anything act on this firing".
        Index("ix_runs_alert_episode", "alert_id", "alert_episode"),
        {"sqlite_autoincrement": True},  # a run id is never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))
    action_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    alert_episode: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]]
    argv: Mapped[list[Any]]
    #: Names of the targets the run addresses, in order (empty: runs on the worker's machine).
    targets: Mapped[list[Any]] = mapped_column(server_default=text("'[]'"))
    #: The rendered kind-specific request (script, HTTP calls, playbook and extra vars):
    #: exactly what will run, never a secret.
    request: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'"))
    #: One entry per target: its outcome, exit code or status, output (capped, redacted).
    results: Mapped[list[Any]] = mapped_column(server_default=text("'[]'"))
    #: For a run that waits for confirmation: SHA-256 of exactly what will run (see
    #: ``confirmations.pinning``); an approval counts only for this value.
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    #: The action's approval policy when the run was made (quorum, approvers, expiry).
    approval: Mapped[dict[str, Any] | None]
    #: Unconfirmed by then, the run becomes ``expired``.
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    #: Queued by a rule without a person's approval: the kill switch holds it while paused.
    automatic: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: 1: the run takes its targets exclusively (waits while another run holds one); 0: it
    #: neither waits for nor blocks other runs on them. From the action.
    target_concurrency: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    timeout_seconds: Mapped[int]
    idempotent: Mapped[bool] = mapped_column(default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempt: Mapped[int] = mapped_column(default=0)
    exit_code: Mapped[int | None]
    output: Mapped[str] = mapped_column(Text, default="")
    output_truncated: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text)


class RunEvent(Base):
    """One state transition of a run, with its reason."""

    __tablename__ = "run_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class RunOutput(Base):
    """A chunk of a run's output as it arrived, so people can watch a long run live.

    Chunks are already redacted and capped; the run's ``output`` holds the final record.
    """

    __tablename__ = "run_output"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class GuardedRun(Base):
    """A run of a rule whose guards count runs (rate limit, target cooldown, targets per
    window): one row per target it addresses, or one with target "" when it has none. The
    guards look back through this small table, indexed by rule and time, and only rules that
    have such guards pay for it."""

    __tablename__ = "guarded_runs"
    __table_args__ = (Index("ix_guarded_runs_rule_created", "rule_id", "created_at"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class TargetLock(Base):
    """A target held by a running run: taken when a worker claims the run, in the claim's
    transaction, and released when the run leaves ``running``. The primary key makes two
    holders impossible, across any number of workers."""

    __tablename__ = "target_locks"

    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    acquired_at: Mapped[datetime]
