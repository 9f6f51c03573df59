"""Noise control on the ingest path: silenced alerts, and alerts in a maintenance window, are
stored and grouped but trigger no automation, and the alert records which silence or window
held it back (never silently dropped).

Costs nothing when no silence or window exists: the compiled rule set carries them, so an
empty tuple is the whole check.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.alerts import flapping as flapping_rules
from sophrosyne.domains.alerts import flaps
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.alerts.service import Receipt
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.inhibitions import service as inhibitions
from sophrosyne.domains.inhibitions.evaluate import CompiledInhibition, Firing, inhibitor
from sophrosyne.domains.maintenance.active import CompiledWindow, covering, open_at
from sophrosyne.domains.rules.evaluate import RuleSet
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.active import CompiledSilence
from sophrosyne.errors import Conflict
from sophrosyne.logging import get_logger

log = get_logger(__name__)

SILENCED = "silenced"


def silenced(
    receipts: Sequence[Receipt], rules: RuleSet, *, now: datetime
) -> dict[int, CompiledSilence]:
    """Receipt position → the active silence that holds back this firing alert."""
    if not rules.silences:
        return {}
    out: dict[int, CompiledSilence] = {}
    for index, receipt in enumerate(receipts):
        if receipt.alert.status != "firing":
            continue
        silence = rules.silence_index.first(receipt.alert.labels, now)
        if silence is not None:
            out[index] = silence
    return out


def record_silenced(
    session: Session,
    receipts: Sequence[Receipt],
    held: dict[int, CompiledSilence],
    *,
    now: datetime,
) -> None:
    """One decision per silenced alert that changed state (a re-send is not repeated: what
    held it back was recorded when it started firing)."""
    rows: list[dict[str, Any]] = []
    for index, silence in held.items():
        receipt = receipts[index]
        if not receipt.changed:
            continue
        rows.append(
            {
                "alert_id": receipt.alert.id,
                "episode": receipt.alert.episode,
                "rule_id": None,
                "rule_name": f"silence:{silence.id}",
                "outcome": SILENCED,
                "detail": silence.describe(),
                "run_id": None,
                "at": now,
            }
        )
    alerts.record_decisions(session, rows)


def expire_on_resolve(
    session: Session, receipts: Sequence[Receipt], rules: RuleSet, *, now: datetime
) -> list[int]:
    """End the ``expire_on_resolve`` silences whose alerts just resolved; audited. The
    silences are those active now that match the resolved alert's labels."""
    wanted = [s for s in rules.silences if s.expire_on_resolve and s.active_at(now)]
    if not wanted:
        return []
    ended: list[int] = []
    for receipt in receipts:
        if not (receipt.changed and receipt.alert.status == "resolved"):
            continue
        for silence in wanted:
            if silence.id in ended or not silence.matches(receipt.alert.labels):
                continue
            try:
                silences.expire(session, silence.id, now=now)
            except Conflict:  # another process ended it since the rules were cached
                continue
            ended.append(silence.id)
            audit.record(
                session,
                actor="system",
                action="silences.expired",
                object_type="silence",
                object_id=str(silence.id),
                detail={"reason": "alert resolved", "alert_id": receipt.alert.id},
                now=now,
            )
            log.info("silence.expired_on_resolve", silence_id=silence.id, alert_id=receipt.alert.id)
    return ended


MAINTENANCE = "maintenance"


def in_window(
    receipts: Sequence[Receipt],
    rules: RuleSet,
    *,
    now: datetime,
    skip: Container[int] = (),
) -> dict[int, tuple[CompiledWindow, str]]:
    """Receipt position → (open window, why in scope) for firing alerts in maintenance.
    Resolved alerts are never held: they resolve (and close incidents) as usual."""
    open_windows = open_at(rules.maintenance, now) if rules.maintenance else []
    if not open_windows:
        return {}
    out: dict[int, tuple[CompiledWindow, str]] = {}
    for index, receipt in enumerate(receipts):
        if index in skip or receipt.alert.status != "firing":
            continue
        hit = covering(open_windows, receipt.alert.labels)
        if hit is not None:
            out[index] = hit
    return out


def record_in_window(
    session: Session,
    receipts: Sequence[Receipt],
    held: dict[int, tuple[CompiledWindow, str]],
    *,
    now: datetime,
) -> None:
    """One decision per alert in maintenance that changed state, naming the window."""
    rows = [
        {
            "alert_id": receipts[index].alert.id,
            "episode": receipts[index].alert.episode,
            "rule_id": None,
            "rule_name": f"maintenance:{window.name}",
            "outcome": MAINTENANCE,
            "detail": window.describe(why),
            "run_id": None,
            "at": now,
        }
        for index, (window, why) in held.items()
        if receipts[index].changed
    ]
    alerts.record_decisions(session, rows)


INHIBITED = "inhibited"


def inhibited(
    session: Session,
    receipts: Sequence[Receipt],
    rules: RuleSet,
    *,
    skip: Container[int] = (),
) -> dict[int, tuple[CompiledInhibition, Firing]]:
    """Receipt position → (rule, source alert) for firing alerts held back by inhibition.
    Looks in the alerts table only when a rule's target side matches an alert of the batch."""
    if not rules.inhibitions:
        return {}
    targeted: list[tuple[int, Receipt, list[CompiledInhibition]]] = []
    for index, receipt in enumerate(receipts):
        if index in skip or receipt.alert.status != "firing":
            continue
        hits = [r for r in rules.inhibitions if r.targets(receipt.alert.labels)]
        if hits:
            targeted.append((index, receipt, hits))
    if not targeted:
        return {}
    # Only the rules some alert of the batch matched, each with the alerts it may hold back;
    # one query fetches their candidate sources, each checked once per rule here.
    wanted: dict[int, tuple[CompiledInhibition, list[Mapping[str, str]]]] = {}
    for _, receipt, hits in targeted:
        for rule in hits:
            wanted.setdefault(rule.position, (rule, []))[1].append(receipt.alert.labels)
    candidates = inhibitions.candidate_sources(session, list(wanted.values()))
    sources = {
        position: [f for f in candidates if rule.is_source(f.labels)]
        for position, (rule, _) in wanted.items()
    }
    out: dict[int, tuple[CompiledInhibition, Firing]] = {}
    for index, receipt, hits in targeted:
        for rule in hits:
            source = inhibitor(rule, receipt.alert.id, receipt.alert.labels, sources[rule.position])
            if source is not None:
                out[index] = (rule, source)
                break
    return out


def record_inhibited(
    session: Session,
    receipts: Sequence[Receipt],
    held: dict[int, tuple[CompiledInhibition, Firing]],
    *,
    now: datetime,
) -> None:
    """One decision per inhibited alert that changed state, naming the source alert."""
    rows: list[dict[str, Any]] = []
    for index, (rule, source) in held.items():
        receipt = receipts[index]
        if not receipt.changed:
            continue
        name = source.labels.get("alertname", "")
        rows.append(
            {
                "alert_id": receipt.alert.id,
                "episode": receipt.alert.episode,
                "rule_id": None,
                "rule_name": f"inhibit_rule:{rule.position}",
                "outcome": INHIBITED,
                "detail": (
                    f"inhibited by alert {source.id} ({name or source.fingerprint}) firing, "
                    f"inhibit rule {rule.position}"
                    + (f", equal on {', '.join(rule.equal)}" if rule.equal else "")
                ),
                "run_id": None,
                "at": now,
            }
        )
    alerts.record_decisions(session, rows)


FLAPPING = "flapping"


def flapping(
    session: Session,
    receipts: Sequence[Receipt],
    *,
    now: datetime,
    skip: Container[int] = (),
) -> dict[int, float]:
    """Receipt position → percent state change, for alerts that changed state in this batch
    and are flapping (their change triggers no automation). A new alert has one change and
    cannot flap, so only alerts seen before are looked at; their state is stored."""
    changed = {
        r.alert.id: (i, r)
        for i, r in enumerate(receipts)
        if r.changed and not r.created and i not in skip
    }
    if not changed:
        return {}
    was = flaps.states(session, changed)
    history = flaps.recent_events(session, changed, limit=flapping_rules.HISTORY + 1)
    out: dict[int, float] = {}
    rows: list[dict[str, Any]] = []
    for alert_id, (index, receipt) in changed.items():
        events = history.get(alert_id, [])
        before = events[:-1]  # the last one is this change, recorded by the upsert
        now_flapping, percent = flapping_rules.is_flapping(
            was.get(alert_id, False), before, receipt.alert.status, now
        )
        if now_flapping:
            out[index] = percent
        if now_flapping or alert_id in was:
            rows.append(
                {
                    "alert_id": alert_id,
                    "flapping": now_flapping,
                    "percent": percent,
                    "changed_at": now,
                }
            )
    flaps.save(session, rows)
    return out


def record_flapping(
    session: Session, receipts: Sequence[Receipt], held: dict[int, float], *, now: datetime
) -> None:
    rows = [
        {
            "alert_id": receipts[index].alert.id,
            "episode": receipts[index].alert.episode,
            "rule_id": None,
            "rule_name": "flapping",
            "outcome": FLAPPING,
            "detail": (
                f"flapping: {percent:.1f}% state change over the last "
                f"{flapping_rules.HISTORY} samples (starts at {flapping_rules.START_PERCENT:g}%,"
                f" stops below {flapping_rules.STOP_PERCENT:g}%)"
            ),
            "run_id": None,
            "at": now,
        }
        for index, percent in held.items()
    ]
    alerts.record_decisions(session, rows)
