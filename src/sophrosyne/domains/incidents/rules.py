"""Grouping rules stored in the database (written by ``apply`` from ``incident_rules:``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sophrosyne.domains.incidents.grouping import Grouping, GroupingRule
from sophrosyne.domains.incidents.models import IncidentRule
from sophrosyne.domains.incidents.schemas import IncidentRuleSpec
from sophrosyne.domains.rules.matching import parse_matchers


def compile_rule(spec: IncidentRuleSpec) -> GroupingRule:
    return GroupingRule(
        name=spec.name,
        matchers=parse_matchers(spec.matchers),
        group_by=tuple(spec.group_by),
        window_seconds=spec.window_seconds,
        auto_resolve=spec.auto_resolve,
    )


def to_spec(rule: IncidentRule) -> IncidentRuleSpec:
    return IncidentRuleSpec(
        name=rule.name,
        matchers=list(rule.matchers),
        group_by=list(rule.group_by),
        window_seconds=rule.window_seconds,
        auto_resolve=rule.auto_resolve,
    )


def list_all(session: Session) -> list[IncidentRule]:
    return list(session.scalars(select(IncidentRule).order_by(IncidentRule.position)))


def load(session: Session, default: GroupingRule | None = None) -> Grouping:
    """The stored rules in order, then ``default`` (the built-in default rule if None)."""
    compiled = [compile_rule(to_spec(r)) for r in list_all(session)]
    return Grouping(compiled, default or GroupingRule())


def replace(
    session: Session,
    specs: Sequence[tuple[IncidentRuleSpec, str | None]],
    *,
    managed_by: str,
    now: datetime,
) -> None:
    """Make the stored rules exactly ``specs`` (with their source files), in that order."""
    session.execute(delete(IncidentRule))
    for position, (spec, source_file) in enumerate(specs):
        session.add(
            IncidentRule(
                name=spec.name,
                position=position,
                matchers=list(spec.matchers),
                group_by=list(spec.group_by),
                window_seconds=spec.window_seconds,
                auto_resolve=spec.auto_resolve,
                managed_by=managed_by,
                source_file=source_file,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
