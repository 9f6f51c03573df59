"""Inhibition rules: stored list (replaced as a whole by ``apply``), compiled for ingest,
and the firing alerts that may inhibit others."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.inhibitions.evaluate import CompiledInhibition, Firing
from sophrosyne.domains.inhibitions.models import InhibitRule
from sophrosyne.domains.inhibitions.schemas import InhibitRuleOut, InhibitRuleSpec
from sophrosyne.domains.rules.matching import parse_matchers


def list_all(session: Session) -> list[InhibitRule]:
    return list(session.scalars(select(InhibitRule).order_by(InhibitRule.position)))


def to_spec(rule: InhibitRule) -> InhibitRuleSpec:
    return InhibitRuleSpec(
        source_matchers=list(rule.source_matchers),
        target_matchers=list(rule.target_matchers),
        equal=list(rule.equal),
    )


def to_out(rule: InhibitRule) -> InhibitRuleOut:
    return InhibitRuleOut(
        **to_spec(rule).model_dump(),
        id=rule.id,
        position=rule.position,
        managed_by=rule.managed_by,
        source_file=rule.source_file,
    )


def compile_all(session: Session) -> list[CompiledInhibition]:
    return [
        CompiledInhibition(
            position=r.position,
            source=parse_matchers(r.source_matchers),
            target=parse_matchers(r.target_matchers),
            equal=tuple(r.equal),
        )
        for r in list_all(session)
    ]


def replace(
    session: Session,
    specs: Sequence[tuple[InhibitRuleSpec, str | None]],
    *,
    managed_by: str,
    now: datetime,
) -> None:
    """Make the stored rules exactly ``specs`` (with their source files), in that order."""
    session.execute(delete(InhibitRule))
    for position, (spec, source_file) in enumerate(specs):
        session.add(
            InhibitRule(
                position=position,
                source_matchers=list(spec.source_matchers),
                target_matchers=list(spec.target_matchers),
                equal=list(spec.equal),
                managed_by=managed_by,
                source_file=source_file,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    actions.bump_revision(session)


def firing(session: Session) -> list[Firing]:
    """Every firing alert (in this transaction, so a batch's own alerts count)."""
    rows = session.execute(
        select(Alert.id, Alert.fingerprint, Alert.labels).where(Alert.status == "firing")
    )
    return [Firing(id=i, fingerprint=fp, labels=labels) for i, fp, labels in rows]
