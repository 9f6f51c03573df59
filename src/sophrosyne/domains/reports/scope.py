"""What a report looks at: its window and, optionally, one target, with the SQL conditions
that narrow alerts and runs to that target.

A run is on a target when the target's name is among the names the run recorded
(``runs.targets``). An alert points at a target the way rules pick targets from alerts
(``rules.targeting``): a label such as ``instance`` whose host part is the target's name or
address. The labels looked at are ``instance`` plus every ``from_label`` the rules use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from sophrosyne.db.dialect import one_of
from sophrosyne.db.reporting import json_array_has
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.reports.schemas import ReportHead, WindowOut
from sophrosyne.domains.reports.window import Window
from sophrosyne.domains.rules.models import Rule
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.targets.models import Target
from sophrosyne.errors import ValidationFailed

DEFAULT_LABEL = "instance"


@dataclass(frozen=True)
class TargetRef:
    name: str
    address: str


@dataclass(frozen=True)
class Scope:
    window: Window
    target: TargetRef | None
    #: The alert labels that name a host.
    host_labels: tuple[str, ...]
    now: datetime
    #: With a target: the ids of the alerts pointing at it, found once per report so that
    #: its queries filter by id instead of each reading every alert's labels again.
    alert_ids: tuple[int, ...] | None = None

    def head(self) -> ReportHead:
        w = self.window
        return ReportHead(
            window=WindowOut(name=w.name, start=w.start, end=w.end, bucket=w.bucket),
            target=self.target.name if self.target else None,
            generated_at=self.now,
        )

    def shifted(self) -> Scope:
        """The same scope over the previous equal window."""
        return replace(self, window=self.window.previous())


def host_labels(session: Session) -> tuple[str, ...]:
    """``instance`` and every ``from_label`` of a rule, sorted after ``instance``."""
    found: set[str] = set()
    for selection in session.scalars(select(Rule.targets).where(Rule.targets.is_not(None))):
        label = (selection or {}).get("from_label")
        if label:
            found.add(str(label))
    found.discard(DEFAULT_LABEL)
    return (DEFAULT_LABEL, *sorted(found))


def make(session: Session, window: Window, target: str | None, *, now: datetime) -> Scope:
    """The scope of a report; ``target`` must name a target of the inventory."""
    ref = None
    name = (target or "").strip()
    if name:
        row = session.execute(
            select(Target.name, Target.address).where(Target.name == name)
        ).one_or_none()
        if row is None:
            raise ValidationFailed.single(("target",), f"no target is named {name!r}")
        ref = TargetRef(row.name, row.address)
    labels = host_labels(session)
    if ref is None:
        return Scope(window, None, labels, now)
    ids = tuple(session.scalars(select(Alert.id).where(_pointing_at(ref, labels))))
    return Scope(window, ref, labels, now, ids)


def _points_at(value: ColumnElement[str], hosts: Sequence[str]) -> ColumnElement[bool]:
    """``value`` is one of ``hosts``, or one of them followed by ``:port``."""
    parts: list[ColumnElement[bool]] = []
    for host in hosts:
        parts.append(value == host)
        parts.append(value.startswith(f"{host}:", autoescape=True))
        parts.append(value.startswith(f"[{host}]:", autoescape=True))
    return or_(*parts)


def _pointing_at(target: TargetRef, labels: Sequence[str]) -> ColumnElement[bool]:
    hosts = sorted({target.name, target.address})
    return or_(*(_points_at(Alert.labels[k].as_string(), hosts) for k in labels))


def alert_condition(session: Session, scope: Scope, column: Any) -> ColumnElement[bool] | None:
    """``column`` (an alert id) is an alert pointing at the scope's target; None when the
    scope has no target."""
    if scope.alert_ids is None:
        return None
    return one_of(session, column, scope.alert_ids)  # type: ignore[no-any-return]


def run_condition(session: Session, scope: Scope) -> ColumnElement[bool] | None:
    """Runs on the scope's target; None when the scope has no target."""
    if scope.target is None:
        return None
    return json_array_has(session, Run.targets, scope.target.name)


def rate(succeeded: int, outcomes: int) -> float | None:
    """A success rate rounded to four places, or None with no outcome to divide by."""
    return round(succeeded / outcomes, 4) if outcomes else None
