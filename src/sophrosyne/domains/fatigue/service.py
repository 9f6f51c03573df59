"""The fatigue report: the facts of every alert signature over a window, aggregated in SQL
(three grouped queries, whatever the number of alerts; no event is loaded into Python), then
scored by ``score``.

A firing is an ``alert_events`` row to ``firing`` in the window. Per firing, in the database:
its duration (to the ``resolved`` event of the same episode), the gap since the previous
episode resolved, whether it was acted on (a run or task of that alert episode, or an incident
holding the alert acknowledged at or after it started firing), and whether a decision marked
that episode flapping, silenced or inhibited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from sophrosyne.db.analytics import seconds_between, slot, without_jit
from sophrosyne.domains.alerts.models import Alert, AlertDecision, AlertEvent
from sophrosyne.domains.fatigue import score
from sophrosyne.domains.fatigue.schemas import (
    ComponentOut,
    FatigueReport,
    OffenderOut,
    RecommendationOut,
    window_days,
)
from sophrosyne.domains.incidents.models import Incident, IncidentAlert
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.tasks.models import Task

#: Offenders listed by default.
TOP = 20

Key = tuple[str, str]


@dataclass(frozen=True)
class Window:
    name: str
    since: datetime
    until: datetime

    @classmethod
    def ending(cls, name: str, until: datetime) -> Window:
        """The window ``name`` (``24h``, ``7d``…) ending at ``until``; 422 on a bad name."""
        name = name.strip()
        return cls(name, until - timedelta(days=window_days(name)), until)

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400.0


def _decided(outcome: str, fire: Any) -> Any:
    return exists().where(
        AlertDecision.alert_id == fire.alert_id,
        AlertDecision.episode == fire.episode,
        AlertDecision.outcome == outcome,
    )


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def _episodes(session: Session, window: Window) -> Any:
    """One row per firing in the window, with what the aggregates need (a subquery)."""
    fire = aliased(AlertEvent, name="fire")
    end = aliased(AlertEvent, name="fire_end")
    prev = aliased(AlertEvent, name="prev_end")
    # Runs have no index by alert: their alert episodes since the window began are read once
    # and joined (a hash join, or SQLite's automatic index), not probed per firing.
    ran = (
        select(Run.alert_id, Run.alert_episode)
        .where(Run.alert_id.is_not(None), Run.created_at >= window.since)
        .distinct()
        .subquery("ran")
    )
    acted = or_(
        ran.c.alert_id.is_not(None),
        exists().where(Task.alert_id == fire.alert_id, Task.alert_episode == fire.episode),
        exists()
        .where(IncidentAlert.alert_id == fire.alert_id)
        .where(IncidentAlert.incident_id == Incident.id)
        .where(Incident.acknowledged_at.is_not(None), Incident.acknowledged_at >= fire.at),
    )
    columns = [
        Alert.source.label("source"),
        func.coalesce(Alert.labels["alertname"].as_string(), literal(score.NO_ALERTNAME)).label(
            "alertname"
        ),
        fire.alert_id.label("alert_id"),
        slot(session, fire.at, score.BURST_SECONDS).label("slot"),
        seconds_between(session, end.at, fire.at).label("duration"),
        seconds_between(session, fire.at, prev.at).label("gap"),
        _flag(acted).label("acted"),
        _flag(_decided("flapping", fire)).label("flapping"),
        _flag(_decided("silenced", fire)).label("silenced"),
        _flag(_decided("inhibited", fire)).label("inhibited"),
        *(Alert.labels[name].as_string().label(f"l_{name}") for name in score.CONTEXT_LABELS),
    ]
    return (
        select(*columns)
        .select_from(fire)
        .join(Alert, Alert.id == fire.alert_id)
        .outerjoin(
            end,
            and_(
                end.alert_id == fire.alert_id,
                end.episode == fire.episode,
                end.to_status == "resolved",
            ),
        )
        .outerjoin(ran, and_(ran.c.alert_id == fire.alert_id, ran.c.alert_episode == fire.episode))
        .outerjoin(
            prev,
            and_(
                prev.alert_id == fire.alert_id,
                prev.episode == fire.episode - 1,
                prev.to_status == "resolved",
            ),
        )
        .where(fire.to_status == "firing", fire.at >= window.since, fire.at <= window.until)
        .subquery("episodes")
    )


def _count_below(column: Any, seconds: int) -> Any:
    return func.sum(case((column < seconds, 1), else_=0))


def _sums(session: Session, e: Any) -> dict[Key, dict[str, Any]]:
    bounds = sorted({*(m * 60 for m in score.FOR_LADDER), score.SHORT_SECONDS})
    gaps = [m * 60 for m in score.KEEP_LADDER]
    columns = [
        func.count().label("firings"),
        func.count(func.distinct(e.c.alert_id)).label("alerts"),
        func.sum(e.c.acted).label("acted"),
        func.sum(e.c.flapping).label("flapping"),
        func.sum(e.c.silenced).label("silenced"),
        func.sum(e.c.inhibited).label("inhibited"),
        func.count(e.c.duration).label("resolved"),
        func.count(e.c.gap).label("refires"),
        *(_count_below(e.c.duration, b).label(f"d_{b}") for b in bounds),
        *(_count_below(e.c.gap, g).label(f"g_{g}") for g in gaps),
    ]
    for name in score.CONTEXT_LABELS:
        label = e.c[f"l_{name}"]
        columns += [
            func.count(label).label(f"n_{name}"),
            func.count(func.distinct(label)).label(f"u_{name}"),
            func.min(label).label(f"v_{name}"),
        ]
    rows = session.execute(
        select(e.c.source, e.c.alertname, *columns).group_by(e.c.source, e.c.alertname)
    ).mappings()
    out: dict[Key, dict[str, Any]] = {}
    for row in rows:
        firings = int(row["firings"])
        out[(row["source"], row["alertname"])] = {
            "firings": firings,
            "alerts": int(row["alerts"]),
            "acted": int(row["acted"] or 0),
            "flapping": int(row["flapping"] or 0),
            "silenced": int(row["silenced"] or 0),
            "inhibited": int(row["inhibited"] or 0),
            "resolved": int(row["resolved"]),
            "refires": int(row["refires"]),
            "shorter_than": {b: int(row[f"d_{b}"] or 0) for b in bounds},
            "gaps_shorter_than": {g: int(row[f"g_{g}"] or 0) for g in gaps},
            "common_labels": {
                name: str(row[f"v_{name}"])
                for name in score.CONTEXT_LABELS
                if row[f"n_{name}"] == firings and row[f"u_{name}"] == 1
            },
        }
    return out


def _medians(session: Session, e: Any) -> dict[Key, float]:
    """Median duration of the resolved firings per signature, with window functions (the
    middle row, or the mean of the two middle rows), the same SQL on both dialects."""
    part = (e.c.source, e.c.alertname)
    ranked = (
        select(
            e.c.source,
            e.c.alertname,
            e.c.duration,
            func.row_number().over(partition_by=part, order_by=e.c.duration).label("n"),
            func.count().over(partition_by=part).label("total"),
        )
        .where(e.c.duration.is_not(None))
        .subquery("ranked")
    )
    rows = session.execute(
        select(ranked.c.source, ranked.c.alertname, func.avg(ranked.c.duration))
        .where(
            or_(
                ranked.c.n == (ranked.c.total + 1) / 2,
                ranked.c.n == (ranked.c.total + 2) / 2,
            )
        )
        .group_by(ranked.c.source, ranked.c.alertname)
    )
    return {(s, a): float(m) for s, a, m in rows}


def _peaks(session: Session, e: Any) -> dict[Key, int]:
    """Most distinct alerts of a signature that started firing within one slot."""
    per_slot = (
        select(
            e.c.source,
            e.c.alertname,
            func.count(func.distinct(e.c.alert_id)).label("alerts"),
        )
        .group_by(e.c.source, e.c.alertname, e.c.slot)
        .subquery("per_slot")
    )
    rows = session.execute(
        select(per_slot.c.source, per_slot.c.alertname, func.max(per_slot.c.alerts)).group_by(
            per_slot.c.source, per_slot.c.alertname
        )
    )
    return {(s, a): int(p) for s, a, p in rows}


def facts(session: Session, window: Window) -> list[score.Facts]:
    """The facts of every signature that fired in the window."""
    without_jit(session)
    e = _episodes(session, window)
    sums = _sums(session, e)
    medians = _medians(session, e) if sums else {}
    peaks = _peaks(session, e) if sums else {}
    return [
        score.Facts(
            source=key[0],
            alertname=key[1],
            median_seconds=medians.get(key),
            peak=peaks.get(key, 0),
            **values,
        )
        for key, values in sums.items()
    ]


def _offender(rank: int, a: score.Assessment) -> OffenderOut:
    f = a.facts
    return OffenderOut(
        rank=rank,
        source=f.source,
        alertname=f.alertname,
        score=a.score,
        firings=f.firings,
        per_day=a.per_day,
        alerts=f.alerts,
        acted=f.acted,
        resolved=f.resolved,
        short_lived=f.shorter_than.get(score.SHORT_SECONDS, 0),
        median_seconds=None if f.median_seconds is None else round(f.median_seconds, 1),
        flapping=f.flapping,
        silenced=f.silenced,
        inhibited=f.inhibited,
        peak=f.peak,
        components=[
            ComponentOut(name=c.name, value=c.value, weight=c.weight, points=c.points)
            for c in a.components
        ],
        recommendations=[
            RecommendationOut(
                kind=r.kind, text=r.text, suggestion=r.suggestion, matchers=list(r.matchers)
            )
            for r in a.recommendations
        ],
    )


def report(session: Session, window: Window, *, limit: int = TOP) -> FatigueReport:
    """The team's figures and its ``limit`` worst signatures."""
    assessed = score.ranked([score.assess(f, window.days) for f in facts(session, window)])
    return FatigueReport(
        window=window.name,
        since=window.since,
        until=window.until,
        score=score.team_score(assessed),
        signatures=len(assessed),
        firings=sum(a.facts.firings for a in assessed),
        acted=sum(a.facts.acted for a in assessed),
        flapping=sum(a.facts.flapping for a in assessed),
        silenced=sum(a.facts.silenced for a in assessed),
        inhibited=sum(a.facts.inhibited for a in assessed),
        offenders=[_offender(i, a) for i, a in enumerate(assessed[:limit], start=1)],
    )
