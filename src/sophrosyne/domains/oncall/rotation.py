"""Who is on call: pure functions of a schedule, its overrides and an instant.

Daily and weekly rotations hand off at a local wall-clock time in the schedule's zone, so a
09:00 hand-off stays at 09:00 across daylight-saving changes (that shift is an hour shorter
or longer); ``hours`` rotations count elapsed hours from the first hand-off. A layer covers
an instant when it has started, and its restriction (if any) includes the local time. The
highest layer that covers an instant decides, and an override beats every layer (the most
recently created one, if two overlap).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sophrosyne.domains.oncall.schemas import WEEKDAYS, LayerSpec, Restriction, ScheduleSpec

#: How far ``next_shift`` looks ahead for a different person.
HORIZON = timedelta(days=120)


@dataclass(frozen=True)
class Cover:
    """Someone covering the schedule, e.g. from an override."""

    user: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Shift:
    """``user`` is on call from ``start`` to ``end`` (UTC), because of ``layer``."""

    user: str | None
    layer: str | None
    start: datetime
    end: datetime


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone)


def _at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``clock`` on ``day`` in ``zone``, as UTC (a time skipped by DST moves on by the gap)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _layer_name(layer: LayerSpec, index: int) -> str:
    return layer.name or f"layer {index + 1}"


def _shift_index(layer: LayerSpec, at: datetime, zone: ZoneInfo) -> int | None:
    """The number of the shift of ``layer`` that holds ``at``; None before the first."""
    first = _at_local(layer.start, layer.handoff, zone)
    if at < first:
        return None
    if layer.rotation == "hours":
        assert layer.shift_hours is not None
        return int((at - first) // timedelta(hours=layer.shift_hours))
    local = _local(at, zone)
    days = (local.date() - layer.start).days
    if local.time().replace(tzinfo=None) < layer.handoff:
        days -= 1
    return days // (1 if layer.rotation == "daily" else 7)


def _shift_start(layer: LayerSpec, index: int, zone: ZoneInfo) -> datetime:
    first = _at_local(layer.start, layer.handoff, zone)
    if layer.rotation == "hours":
        assert layer.shift_hours is not None
        return first + timedelta(hours=layer.shift_hours * index)
    step = 1 if layer.rotation == "daily" else 7
    return _at_local(layer.start + timedelta(days=step * index), layer.handoff, zone)


def _restricted_in(restriction: Restriction, at: datetime, zone: ZoneInfo) -> bool:
    local = _local(at, zone)
    for back in (0, 1):  # a window that started yesterday may run past midnight
        day = local.date() - timedelta(days=back)
        if WEEKDAYS[day.weekday()] not in restriction.days:
            continue
        start = _at_local(day, restriction.start, zone)
        end_day = day if restriction.end > restriction.start else day + timedelta(days=1)
        end = _at_local(end_day, restriction.end, zone)
        if start <= at < end:
            return True
    return False


def layer_user(layer: LayerSpec, at: datetime, zone: ZoneInfo) -> str | None:
    """Who ``layer`` puts on call at ``at``, or None if it does not cover that instant."""
    index = _shift_index(layer, at, zone)
    if index is None:
        return None
    if layer.restriction is not None and not _restricted_in(layer.restriction, at, zone):
        return None
    return layer.users[index % len(layer.users)]


def on_call_at(
    schedule: ScheduleSpec, at: datetime, overrides: Sequence[Cover] = ()
) -> tuple[str | None, str | None]:
    """(user, why) at ``at``: why is ``override`` or the layer's name; (None, None): nobody."""
    for cover in reversed(overrides):
        if cover.starts_at <= at < cover.ends_at:
            return cover.user, "override"
    zone = ZoneInfo(schedule.time_zone)
    for index in range(len(schedule.layers) - 1, -1, -1):
        layer = schedule.layers[index]
        user = layer_user(layer, at, zone)
        if user is not None:
            return user, _layer_name(layer, index)
    return None, None


def _boundaries(
    schedule: ScheduleSpec, start: datetime, end: datetime, overrides: Sequence[Cover]
) -> list[datetime]:
    """Every instant in (start, end) at which the answer of ``on_call_at`` may change."""
    zone = ZoneInfo(schedule.time_zone)
    found: set[datetime] = set()
    for layer in schedule.layers:
        index = _shift_index(layer, start, zone)
        index = 0 if index is None else index
        while (t := _shift_start(layer, index, zone)) < end:
            found.add(t)
            index += 1
        if layer.restriction is not None:
            day = _local(start, zone).date() - timedelta(days=1)
            while (t := _at_local(day, layer.restriction.start, zone)) < end:
                found.add(t)
                end_day = day + timedelta(
                    days=0 if layer.restriction.end > layer.restriction.start else 1
                )
                found.add(_at_local(end_day, layer.restriction.end, zone))
                day += timedelta(days=1)
    for cover in overrides:
        found.update((cover.starts_at, cover.ends_at))
    return sorted(t for t in found if start < t < end)


def shifts(
    schedule: ScheduleSpec, start: datetime, end: datetime, overrides: Sequence[Cover] = ()
) -> list[Shift]:
    """The resolved timeline from ``start`` to ``end``: consecutive shifts, one person each
    (``user`` None where nobody is on call), neighbours with the same person merged."""
    out: list[Shift] = []
    edges = [start, *_boundaries(schedule, start, end, overrides), end]
    for a, b in itertools.pairwise(edges):
        user, why = on_call_at(schedule, a, overrides)
        if out and out[-1].user == user and out[-1].layer == why:
            out[-1] = Shift(user, why, out[-1].start, b)
        else:
            out.append(Shift(user, why, a, b))
    return out


def _forward(schedule: ScheduleSpec, at: datetime, overrides: Sequence[Cover]) -> Iterator[Shift]:
    window = timedelta(days=7)
    cursor = at
    while cursor < at + HORIZON:
        yield from shifts(schedule, cursor, cursor + window, overrides)
        cursor += window


def current_and_next(
    schedule: ScheduleSpec, at: datetime, overrides: Sequence[Cover] = ()
) -> tuple[Shift, Shift | None]:
    """The shift holding ``at`` (its start may be earlier), and the next shift of someone
    else (None if there is none within ``HORIZON``)."""
    user, why = on_call_at(schedule, at, overrides)
    since = _since(schedule, at, user, overrides)
    end: datetime | None = None
    for shift in _forward(schedule, at, overrides):
        if (end is None or shift.start == end) and shift.user == user:
            end = shift.end
            continue
        end = end or shift.start
        if shift.user is not None and shift.user != user:
            return Shift(user, why, since, end), shift_until_change(schedule, shift, overrides)
    return Shift(user, why, since, end or at + HORIZON), None


def shift_until_change(schedule: ScheduleSpec, shift: Shift, overrides: Sequence[Cover]) -> Shift:
    """``shift`` extended while the same person stays on call (looking a week ahead)."""
    end = shift.end
    for nxt in shifts(schedule, shift.end, shift.end + timedelta(days=7), overrides):
        if nxt.user != shift.user:
            break
        end = nxt.end
    return Shift(shift.user, shift.layer, shift.start, end)


def _since(
    schedule: ScheduleSpec,
    at: datetime,
    user: str | None,
    overrides: Sequence[Cover],
) -> datetime:
    """When the person on call at ``at`` took over (looking back at most 30 days)."""
    back = shifts(schedule, at - timedelta(days=30), at + timedelta(seconds=1), overrides)
    start = at
    for shift in reversed(back):
        if shift.user != user:
            break
        start = shift.start
    return start


def who_is_on_call(
    schedule: ScheduleSpec, at: datetime, overrides: Sequence[Cover] = ()
) -> str | None:
    """The user on call at ``at``, or None."""
    return on_call_at(schedule, at, overrides)[0]


def next_shift(
    schedule: ScheduleSpec, at: datetime, overrides: Sequence[Cover] = ()
) -> Shift | None:
    """The next shift after ``at`` with someone other than whoever is on call now."""
    return current_and_next(schedule, at, overrides)[1]
