"""Grouping rules stored in the database (written by ``apply`` from ``incident_rules:``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

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


#: A stored rule as plain values (name, matchers, group_by, window_seconds, auto_resolve).
_Row = tuple[str, tuple[str, ...], tuple[str, ...], int, bool]


def load(session: Session, default: GroupingRule | None = None) -> Grouping:
    """The stored rules in order, then ``default`` (the built-in default rule if None).

    Runs once per ingest transaction, so it reads plain columns (no ORM objects) and reuses
    the compiled rules while the stored ones are the same: parsing matchers and building
    specs for every batch cost several percent of ingest."""
    rows = session.execute(
        select(
            IncidentRule.name,
            IncidentRule.matchers,
            IncidentRule.group_by,
            IncidentRule.window_seconds,
            IncidentRule.auto_resolve,
        ).order_by(IncidentRule.position)
    )
    key = tuple(
        (name, tuple(matchers), tuple(group_by), window, auto)
        for name, matchers, group_by, window, auto in rows
    )
    return _grouping(key, default or GroupingRule())


@lru_cache(maxsize=16)
def _grouping(rows: tuple[_Row, ...], default: GroupingRule) -> Grouping:
    """The compiled rules of ``rows`` (the values they were stored with, validated then)."""
    compiled = [
        GroupingRule(
            name=name,
            matchers=parse_matchers(list(matchers)),
            group_by=group_by,
            window_seconds=window,
            auto_resolve=auto,
        )
        for name, matchers, group_by, window, auto in rows
    ]
    return Grouping(tuple(compiled), default)


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
