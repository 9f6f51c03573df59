"""Inhibition rules: stored list (replaced as a whole by ``apply``), compiled for ingest,
and the firing alerts that may inhibit others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.inhibitions.evaluate import CompiledInhibition, Firing
from sophrosyne.domains.inhibitions.models import InhibitRule
from sophrosyne.domains.inhibitions.schemas import InhibitRuleOut, InhibitRuleSpec
from sophrosyne.domains.rules.matching import Matcher, parse_matchers


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


def candidate_sources(
    session: Session,
    wanted: Sequence[tuple[CompiledInhibition, Sequence[Mapping[str, str]]]],
) -> list[Firing]:
    """The firing alerts (in this transaction, so a batch's own alerts count) that may be a
    source for ``wanted``, pairs of a rule and the labels of the alerts it may hold back: a
    superset of those matching a rule's source side with the ``equal`` values of one of its
    targets, for the caller to check in Python. One query for all the rules, in id order.

    Narrowed in SQL by one equality matcher with a non-empty value of each rule (``alertname``
    if it has one; only such a matcher is decided exactly by a JSON label lookup: regexes,
    ``!=`` and ``=""`` also match alerts without the label), so a rule without one needs every
    firing alert; and by the values the targets have of the ``equal`` labels all the rules
    share. The statement's shape depends only on label names, so SQLAlchemy compiles it once.
    """
    if not wanted:
        return []
    stmt = select(Alert.id, Alert.fingerprint, Alert.labels).where(Alert.status == "firing")
    keys: dict[str, set[str]] = {}
    for rule, _ in wanted:
        key = _key(rule)
        if key is None:
            keys.clear()
            break
        keys.setdefault(key.name, set()).add(key.value)
    if keys:
        stmt = stmt.where(or_(*(_label(n).in_(sorted(v)) for n, v in sorted(keys.items()))))
    shared = set.intersection(*(set(rule.equal) for rule, _ in wanted))
    for name in sorted(shared):
        stmt = stmt.where(_one_of(name, {t.get(name, "") for _, ts in wanted for t in ts}))
    rows = session.execute(stmt.order_by(Alert.id))
    return [Firing(id=i, fingerprint=fp, labels=labels) for i, fp, labels in rows]


def _key(rule: CompiledInhibition) -> Matcher | None:
    """The source matcher the candidate query narrows ``rule`` by, if it has one."""
    usable = [m for m in rule.source if m.op == "=" and m.value != ""]
    return next((m for m in usable if m.name == "alertname"), usable[0] if usable else None)


def _one_of(name: str, values: set[str]) -> ColumnElement[bool]:
    """Label ``name`` has one of ``values``, ``""`` standing for a missing label."""
    present = sorted(v for v in values if v != "")
    found: list[ColumnElement[bool]] = [_label(name).in_(present)] if present else []
    if "" in values:
        found += [_label(name).is_(None), _label(name) == ""]
    return or_(*found)


def _label(name: str) -> ColumnElement[str]:
    """The value of label ``name`` of an alert, NULL when it has none."""
    value: ColumnElement[str] = Alert.labels[name].as_string()  # ``labels`` is typed Any
    return value
