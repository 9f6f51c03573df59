"""Ingest a batch of alerts: store, respond, audit — all in the caller's one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.actions.service import catalog_revision
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.schemas import IncomingAlert, IngestReply
from sophrosyne.domains.alerts.service import Receipt
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.incidents.grouping import GroupingRule
from sophrosyne.domains.rules.evaluate import AlertView, RuleSet
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.flows.incidents import attach as attach_to_incidents
from sophrosyne.flows.respond import Plan, Response, plan_alert, respond

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


@dataclass(frozen=True)
class Batch:
    """One sender's alerts (one request), stored together with others in one transaction."""

    incoming: Sequence[IncomingAlert]
    actor: str
    source_detail: dict[str, object] | None = None
    prepared: Prepared | None = None


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
    """Store ``incoming`` and respond to it (see ``ingest_many``)."""
    batch = Batch(incoming, actor, source_detail, prepared)
    return ingest_many(session, [batch], rules=rules, now=now)[0]


def ingest_many(
    session: Session,
    batches: Sequence[Batch],
    *,
    rules: RuleCache,
    now: datetime,
    incident_default: GroupingRule | None = None,
) -> list[IngestResult]:
    """Store several batches and respond to them with one pass over the database: one upsert,
    one round of rule decisions, then a reply and an audit entry per batch.

    A batch's ``prepared`` plans (from ``prepare``) are used when the rules have not changed
    since they were made, which one query in this transaction tells; else all is re-planned.
    """
    revision = catalog_revision(session)
    incoming = [a for b in batches for a in b.incoming]
    plans: list[list[Plan]] | None = None
    ready = [b.prepared for b in batches]
    if all(p is not None and p.rules.revision == revision for p in ready):
        ruleset = ready[0].rules if ready and ready[0] is not None else rules.get(session, now=now)
        plans = [plan for p in ready if p is not None for plan in p.plans]
    else:
        ruleset = rules.get(session, now=now)
    receipts = alerts.upsert(session, incoming, now=now)
    response = respond(session, receipts, ruleset, now=now, plans=plans)
    attach_to_incidents(session, receipts, now=now, default=incident_default)
    results: list[IngestResult] = []
    start = 0
    for batch in batches:
        end = start + len(batch.incoming)
        batch_receipts = receipts[start:end]
        results.append(
            _reply(session, batch, batch_receipts, response=response, offset=start, now=now)
        )
        start = end
    return results


def _reply(
    session: Session,
    batch: Batch,
    receipts: Sequence[Receipt],
    *,
    response: Response,
    offset: int,
    now: datetime,
) -> IngestResult:
    created = sum(r.created for r in receipts)
    changed = [r for r in receipts if r.changed]
    run_ids = [
        run_id
        for i in range(offset, offset + len(receipts))
        for run_id in response.runs_of.get(i, ())
    ]
    queued = set(response.queued)
    received_by: dict[tuple[str, str], int] = {}
    for a in batch.incoming:
        received_by[(a.source, a.status)] = received_by.get((a.source, a.status), 0) + 1
    queued_ids = [r for r in run_ids if r in queued]
    reply = IngestReply(
        received=len(receipts),
        created=created,
        updated=len(receipts) - created,
        state_changes=len(changed),
        runs_enqueued=len(queued_ids),
        runs_awaiting_confirmation=len(run_ids) - len(queued_ids),
    )
    audit.record(
        session,
        actor=batch.actor,
        action="alerts.ingested",
        object_type="alert",
        detail={
            **(batch.source_detail or {}),
            **reply.model_dump(),
            "changed": [
                {"id": r.alert.id, "fingerprint": r.alert.fingerprint, "status": r.alert.status}
                for r in changed[:_AUDIT_FINGERPRINTS]
            ],
            "run_ids": run_ids[:_AUDIT_FINGERPRINTS],
        },
        now=now,
    )
    return IngestResult(reply=reply, queued_run_ids=queued_ids, received_by=received_by)
