"""Ingest a batch of alerts: store, respond, audit — all in the caller's one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.actions.service import catalog_revision
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.schemas import IncomingAlert, IngestReply
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.rules.evaluate import AlertView, RuleSet
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.flows.respond import Plan, plan_alert, respond

#: Fingerprints listed in one audit entry; the count is always exact.
_AUDIT_FINGERPRINTS = 200


@dataclass
class IngestResult:
    reply: IngestReply
    queued_run_ids: list[int] = field(default_factory=list)
    #: (source, status) → alerts received, for metrics after commit.
    received_by: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """Rule matching and rendering done for a batch before its transaction began."""

    rules: RuleSet
    plans: list[list[Plan]]


def prepare(incoming: Sequence[IncomingAlert], rules: RuleSet) -> Prepared:
    """Match and render every incoming alert, without the database: the stored alert will
    have the incoming status and labels, which is all that matching and rendering read."""
    return Prepared(rules, [plan_alert(AlertView.of(a), rules) for a in incoming])


def ingest(
    session: Session,
    incoming: Sequence[IncomingAlert],
    *,
    actor: str,
    rules: RuleCache,
    now: datetime,
    source_detail: dict[str, object] | None = None,
    prepared: Prepared | None = None,
) -> IngestResult:
    """Store ``incoming`` and respond to it. ``prepared`` (from ``prepare``) lets the caller
    do the CPU work outside this, the writing, transaction; it is used only if the rules have
    not changed since, which one query in this transaction tells."""
    plans: list[list[Plan]] | None = None
    if prepared is not None and prepared.rules.revision == catalog_revision(session):
        ruleset, plans = prepared.rules, prepared.plans
    else:
        ruleset = rules.get(session)
    receipts = alerts.upsert(session, incoming, now=now)
    response = respond(session, receipts, ruleset, now=now, plans=plans)
    created = sum(r.created for r in receipts)
    changed = [r for r in receipts if r.changed]
    received_by: dict[tuple[str, str], int] = {}
    for a in incoming:
        received_by[(a.source, a.status)] = received_by.get((a.source, a.status), 0) + 1
    reply = IngestReply(
        received=len(receipts),
        created=created,
        updated=len(receipts) - created,
        state_changes=len(changed),
        runs_enqueued=len(response.queued),
        runs_awaiting_confirmation=len(response.awaiting_confirmation),
    )
    audit.record(
        session,
        actor=actor,
        action="alerts.ingested",
        object_type="alert",
        detail={
            **(source_detail or {}),
            **reply.model_dump(),
            "changed": [
                {"id": r.alert.id, "fingerprint": r.alert.fingerprint, "status": r.alert.status}
                for r in changed[:_AUDIT_FINGERPRINTS]
            ],
            "run_ids": (response.queued + response.awaiting_confirmation)[:_AUDIT_FINGERPRINTS],
        },
        now=now,
    )
    return IngestResult(reply=reply, queued_run_ids=response.queued, received_by=received_by)
