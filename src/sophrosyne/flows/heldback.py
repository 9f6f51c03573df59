"""Which new incidents page no one: those whose every alert is held back, each by a silence,
an inhibition or an open maintenance window. ``flows.announce`` records such an incident's
announcement as one suppressed notification with the reason worked out here.

Silenced and inhibited alerts are known by the decision the ingest path recorded on the
alert's current episode (``flows.noise``: ``silenced`` naming the silence, ``inhibited``
naming the source alert). The record is what counts, not the state at announcement: the
worker may announce a little later, when the silence has ended or the inhibiting alert has
resolved, and an alert that was held back for its whole episode must still page no one.
Maintenance is asked of the windows open now, by the alert's labels, as before.

One query per announce pass, whatever the number of incidents: their alerts, each with any
``silenced`` / ``inhibited`` decision of its current episode (and its labels only while a
maintenance window is open).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, null, select
from sqlalchemy.orm import Session

from sophrosyne.domains.alerts.models import Alert, AlertDecision
from sophrosyne.domains.incidents.models import IncidentAlert
from sophrosyne.domains.maintenance.active import CompiledWindow, covering, open_at
from sophrosyne.flows.noise import INHIBITED, MAINTENANCE, SILENCED

#: What a hold says in a reason; a reason lists at most this many kinds of hold.
SHOWN = 3
#: A decision's detail (a silence's comment can be long) is cut to this many characters.
DETAIL = 120

Hold = tuple[str, str]  # (silenced | inhibited | maintenance, decision detail or window name)


def held_back(
    session: Session, incident_ids: Sequence[int], windows: Sequence[CompiledWindow], now: datetime
) -> dict[int, str]:
    """Incident id → why it pages no one, for the incidents among ``incident_ids`` that have
    alerts and whose every alert is held back. An incident with no alerts is never held."""
    if not incident_ids:
        return {}
    open_windows = open_at(windows, now) if windows else []
    # Labels are read only while a window is open: they are the bulk of the rows.
    labels = Alert.labels if open_windows else null()
    stmt = (
        select(IncidentAlert.incident_id, Alert.id, AlertDecision.outcome, AlertDecision.detail)
        .add_columns(labels)
        .join(Alert, Alert.id == IncidentAlert.alert_id)
        .outerjoin(
            AlertDecision,
            and_(
                AlertDecision.alert_id == Alert.id,
                AlertDecision.episode == Alert.episode,
                AlertDecision.outcome.in_((SILENCED, INHIBITED)),
            ),
        )
        .where(IncidentAlert.incident_id.in_(incident_ids))
        .order_by(IncidentAlert.incident_id, Alert.id, AlertDecision.id)
    )
    rows = cast(
        Iterable[tuple[int, int, str | None, str | None, dict[str, Any] | None]],
        session.execute(stmt),
    )
    holds: dict[int, dict[int, Hold]] = {}
    free: set[int] = set()  # incidents with an alert not held back
    for incident_id, alert_id, outcome, detail, alert_labels in rows:
        if incident_id in free:
            continue
        mine = holds.setdefault(incident_id, {})
        if alert_id in mine:
            continue  # a second decision on the same episode: the first one is enough
        hold = _hold(outcome, detail, alert_labels, open_windows)
        if hold is None:
            free.add(incident_id)
            del holds[incident_id]
        else:
            mine[alert_id] = hold
    return {i: reason(list(h.values())) for i, h in holds.items() if h}


def _hold(
    outcome: str | None,
    detail: str | None,
    labels: dict[str, Any] | None,
    open_windows: Sequence[CompiledWindow],
) -> Hold | None:
    if outcome is not None:
        return outcome, detail or ""
    if labels is not None:
        hit = covering(open_windows, {str(k): str(v) for k, v in labels.items()})
        if hit is not None:
            return MAINTENANCE, hit[0].name
    return None


def reason(holds: Sequence[Hold]) -> str:
    """The suppressed notification's reason: what held every alert back; when holds differ,
    how many alerts each held (the most frequent first, at most ``SHOWN`` of them)."""
    counts = Counter(holds)
    if len(counts) == 1:
        [(kind, detail)] = counts
        return f"every alert of the incident is {_phrase(kind, detail)}"
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{n} {_phrase(kind, detail)}" for (kind, detail), n in ranked[:SHOWN]]
    if len(ranked) > SHOWN:
        parts.append(f"{sum(n for _, n in ranked[SHOWN:])} held back otherwise")
    return "every alert of the incident is held back: " + "; ".join(parts)


def _phrase(kind: str, detail: str) -> str:
    if kind == MAINTENANCE:
        return f"in maintenance window {detail!r}"
    short = detail if len(detail) <= DETAIL else detail[: DETAIL - 1] + "…"
    if kind == INHIBITED and short.startswith("inhibited"):
        return short  # the decision already reads "inhibited by alert N (NodeDown) …"
    return f"{kind} ({short})"
