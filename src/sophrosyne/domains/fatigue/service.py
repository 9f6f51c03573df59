"""The fatigue report: the facts of every alert signature over a window, aggregated in SQL
(one statement, whatever the number of alerts; no event is loaded into Python), then scored
by ``score``.

A firing is an ``alert_events`` row to ``firing`` in the window. Per firing, in the database:
its duration (to the ``resolved`` event of the same episode), the gap since the previous
episode resolved, whether it was acted on (a run or task of that alert episode, or an incident
holding the alert acknowledged at or after it started firing), and whether a decision marked
that episode flapping, silenced or inhibited.

How the statement is shaped, for speed (docs/performance.md, "Alert fatigue report"): the
per-firing facts are a CTE computed once and read by every figure; what is looked up per
firing (runs and tasks, acknowledgements, decisions) is pre-grouped and joined, not probed
with correlated subqueries; firings are grouped per alert (an integer) before per signature,
so distinct alerts are rows instead of ``count(distinct …)``; the labels are read from JSON
once per alert; and signatures are numbered so the median and the peaks sort and join on an
integer. Migration 0016's indexes let the window's firings and each episode's resolve be read
from indexes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select, union
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


HELD = ("flapping", "silenced", "inhibited")


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def _acted_on(window: Window) -> Any:
    """The alert episodes with a run (created since the window began) or a task: one row
    each, joined to the firings rather than probed once per firing."""
    runs = select(Run.alert_id, Run.alert_episode).where(
        Run.alert_id.is_not(None), Run.created_at >= window.since
    )
    tasks = select(Task.alert_id, Task.alert_episode).where(Task.alert_id.is_not(None))
    return union(runs, tasks).subquery("acted_on")


def _acknowledged() -> Any:
    """Per alert, the latest acknowledgement of an incident holding it: a firing was acted
    on by an acknowledgement when one came at or after it started, i.e. when the latest did."""
    return (
        select(IncidentAlert.alert_id, func.max(Incident.acknowledged_at).label("at"))
        .join(Incident, Incident.id == IncidentAlert.incident_id)
        .where(Incident.acknowledged_at.is_not(None))
        .group_by(IncidentAlert.alert_id)
        .subquery("acknowledged")
    )


def _held() -> Any:
    """Per alert episode, whether a decision marked it flapping, silenced or inhibited (one
    pass over the decisions instead of one probe per firing and outcome)."""
    return (
        select(
            AlertDecision.alert_id,
            AlertDecision.episode,
            *(func.max(_flag(AlertDecision.outcome == outcome)).label(outcome) for outcome in HELD),
        )
        .where(AlertDecision.outcome.in_(HELD))
        .group_by(AlertDecision.alert_id, AlertDecision.episode)
        .subquery("held")
    )


def _fired(session: Session, window: Window) -> Any:
    """One row per firing in the window with its per-episode facts, as a CTE: computed once
    and read by every aggregate (the alert's labels are read per alert, in ``_signed``)."""
    fire = aliased(AlertEvent, name="fire")
    end = aliased(AlertEvent, name="fire_end")
    prev = aliased(AlertEvent, name="prev_end")
    ran = _acted_on(window)
    acked = _acknowledged()
    held = _held()
    acted = or_(ran.c.alert_id.is_not(None), acked.c.at >= fire.at)
    return (
        select(
            fire.alert_id.label("alert_id"),
            slot(session, fire.at, score.BURST_SECONDS).label("slot"),
            seconds_between(session, end.at, fire.at).label("duration"),
            seconds_between(session, fire.at, prev.at).label("gap"),
            _flag(acted).label("acted"),
            *(func.coalesce(held.c[outcome], 0).label(outcome) for outcome in HELD),
        )
        .select_from(fire)
        .outerjoin(
            end,
            and_(
                end.alert_id == fire.alert_id,
                end.episode == fire.episode,
                end.to_status == "resolved",
            ),
        )
        .outerjoin(ran, and_(ran.c.alert_id == fire.alert_id, ran.c.alert_episode == fire.episode))
        .outerjoin(acked, acked.c.alert_id == fire.alert_id)
        .outerjoin(held, and_(held.c.alert_id == fire.alert_id, held.c.episode == fire.episode))
        .outerjoin(
            prev,
            and_(
                prev.alert_id == fire.alert_id,
                prev.episode == fire.episode - 1,
                prev.to_status == "resolved",
            ),
        )
        .where(fire.to_status == "firing", fire.at >= window.since, fire.at <= window.until)
        .cte("fired")
    )


def _count_below(column: Any, seconds: int) -> Any:
    return func.sum(case((column < seconds, 1), else_=0))


_BOUNDS = sorted({*(m * 60 for m in score.FOR_LADDER), score.SHORT_SECONDS})
_GAPS = [m * 60 for m in score.KEEP_LADDER]


def _signed(fired: Any) -> Any:
    """One row per alert that fired in the window: its signature, context labels and the
    sums of its firings (a CTE). Grouping by the integer ``alert_id`` first means the labels
    are read from JSON once per alert, and the distinct alerts of a signature are rows."""
    f = fired.c
    per_alert = (
        select(
            f.alert_id,
            func.count().label("firings"),
            func.sum(f.acted).label("acted"),
            func.sum(f.flapping).label("flapping"),
            func.sum(f.silenced).label("silenced"),
            func.sum(f.inhibited).label("inhibited"),
            func.count(f.duration).label("resolved"),
            func.count(f.gap).label("refires"),
            *(_count_below(f.duration, b).label(f"d_{b}") for b in _BOUNDS),
            *(_count_below(f.gap, g).label(f"g_{g}") for g in _GAPS),
        )
        .group_by(f.alert_id)
        .subquery("per_alert")
    )
    alertname = func.coalesce(Alert.labels["alertname"].as_string(), literal(score.NO_ALERTNAME))
    return (
        select(
            Alert.source.label("source"),
            alertname.label("alertname"),
            # The signature as a number (its lowest alert id): the figures below group, sort
            # and join on it instead of on two strings.
            func.min(Alert.id).over(partition_by=(Alert.source, alertname)).label("sig"),
            per_alert,
            *(Alert.labels[name].as_string().label(f"l_{name}") for name in score.CONTEXT_LABELS),
        )
        .join_from(per_alert, Alert, Alert.id == per_alert.c.alert_id)
        .cte("signed")
    )


def _medians(fired: Any, signed: Any, sums: Any) -> Any:
    """Median duration of the resolved firings per signature, with a window function (the
    middle row, or the mean of the two middle rows), the same SQL on both dialects. The
    rows counted are the signature's ``resolved`` sum, so one sort numbers them."""
    ranked = (
        select(
            signed.c.sig,
            fired.c.duration,
            func.row_number().over(partition_by=signed.c.sig, order_by=fired.c.duration).label("n"),
        )
        .join_from(fired, signed, signed.c.alert_id == fired.c.alert_id)
        .where(fired.c.duration.is_not(None))
        .subquery("ranked")
    )
    # An integer in the database too: PostgreSQL's sum of a count is numeric, and numeric
    # halves are not whole.
    total = cast(sums.c.resolved, Integer)
    return (
        select(ranked.c.sig, func.avg(ranked.c.duration).label("median"))
        .join_from(ranked, sums, sums.c.sig == ranked.c.sig)
        # Integer halves: rows (n+1)//2 and (n+2)//2 are one row when n is odd, the two
        # middle rows when it is even. (``/`` is true division in SQLAlchemy 2.)
        .where(or_(ranked.c.n == (total + 1) // 2, ranked.c.n == (total + 2) // 2))
        .group_by(ranked.c.sig)
        .subquery("medians")
    )


def _peaks(fired: Any, signed: Any) -> Any:
    """Most distinct alerts of a signature that started firing within one slot: the
    (alert, slot) pairs are made distinct first, so each slot's count is a plain count."""
    pairs = select(fired.c.alert_id, fired.c.slot).distinct().subquery("pairs")
    per_slot = (
        select(signed.c.sig, func.count().label("alerts"))
        .join_from(pairs, signed, signed.c.alert_id == pairs.c.alert_id)
        .group_by(signed.c.sig, pairs.c.slot)
        .subquery("per_slot")
    )
    return (
        select(per_slot.c.sig, func.max(per_slot.c.alerts).label("peak"))
        .group_by(per_slot.c.sig)
        .subquery("peaks")
    )


def _statement(session: Session, window: Window) -> Any:
    """Every signature's sums, median and peak in one statement, so the per-firing facts
    (``fired``) and the per-alert rows (``signed``) are computed once, not once per figure.
    A label is common to a signature when every alert has it with one value (min = max)."""
    fired = _fired(session, window)
    signed = _signed(fired)
    c = signed.c
    peaks = _peaks(fired, signed)
    columns = [
        func.sum(c.firings).label("firings"),
        func.count().label("alerts"),
        *(
            func.sum(c[name]).label(name)
            for name in ("acted", "flapping", "silenced", "inhibited", "resolved", "refires")
        ),
        *(func.sum(c[f"d_{b}"]).label(f"d_{b}") for b in _BOUNDS),
        *(func.sum(c[f"g_{g}"]).label(f"g_{g}") for g in _GAPS),
    ]
    for name in score.CONTEXT_LABELS:
        label = c[f"l_{name}"]
        columns += [
            func.count(label).label(f"n_{name}"),
            func.min(label).label(f"v_{name}"),
            func.max(label).label(f"w_{name}"),
        ]
    sums = (
        select(c.sig, c.source, c.alertname, *columns)
        .group_by(c.sig, c.source, c.alertname)
        .cte("sums")
    )
    medians = _medians(fired, signed, sums)
    return (
        select(sums, medians.c.median, peaks.c.peak)
        .join_from(sums, medians, medians.c.sig == sums.c.sig, isouter=True)
        .join(peaks, peaks.c.sig == sums.c.sig, isouter=True)
    )


def facts(session: Session, window: Window) -> list[score.Facts]:
    """The facts of every signature that fired in the window."""
    without_jit(session)
    out = []
    for row in session.execute(_statement(session, window)).mappings():
        alerts = int(row["alerts"])
        out.append(
            score.Facts(
                source=row["source"],
                alertname=row["alertname"],
                firings=int(row["firings"]),
                alerts=alerts,
                acted=int(row["acted"] or 0),
                flapping=int(row["flapping"] or 0),
                silenced=int(row["silenced"] or 0),
                inhibited=int(row["inhibited"] or 0),
                resolved=int(row["resolved"]),
                median_seconds=None if row["median"] is None else float(row["median"]),
                shorter_than={b: int(row[f"d_{b}"] or 0) for b in _BOUNDS},
                refires=int(row["refires"]),
                gaps_shorter_than={g: int(row[f"g_{g}"] or 0) for g in _GAPS},
                peak=int(row["peak"] or 0),
                common_labels={
                    name: str(row[f"v_{name}"])
                    for name in score.CONTEXT_LABELS
                    if row[f"n_{name}"] == alerts and row[f"v_{name}"] == row[f"w_{name}"]
                },
            )
        )
    return out


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


def watermark(session: Session) -> tuple[Any, ...]:
    """What changes whenever a figure of the report may: the highest id of the events,
    decisions, runs and tasks, and the latest acknowledgement (one statement, each an index
    lookup). Equal watermarks and windows give equal reports."""
    return tuple(
        session.execute(
            select(
                select(func.max(AlertEvent.id)).scalar_subquery(),
                select(func.max(AlertDecision.id)).scalar_subquery(),
                select(func.max(Run.id)).scalar_subquery(),
                select(func.max(Task.id)).scalar_subquery(),
                select(func.max(Incident.acknowledged_at)).scalar_subquery(),
            )
        ).one()
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
