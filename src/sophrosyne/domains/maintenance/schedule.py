"""When a maintenance window is open: a pure helper over one-off and recurring schedules.

A one-off window is ``[starts_at, ends_at)``. A recurring one has a small, documented form
(python-dateutil is not a dependency of ours, and this covers what maintenance needs):

- ``frequency``: ``daily``, ``weekly`` (on ``days``: ``mon`` … ``sun``) or ``monthly`` (on
  ``days_of_month``: 1 to 31; a month without that day has no occurrence);
- ``start_time``: the local wall-clock time an occurrence starts, in ``timezone`` (IANA);
- ``duration``: elapsed time from the start (so a 2-hour window is 2 hours long on the nights
  clocks change, and may end at a different local hour);
- ``valid_from`` / ``valid_until``: the first and last local dates an occurrence may start.

Daylight saving: a start time that does not exist that day (clocks jump forward over it) is
taken with the offset before the jump, i.e. it starts that much later in local time (02:30 in
Europe/Paris on the spring change starts at 03:30 CEST); a start time that occurs twice
(clocks fall back) is the first of the two. ``cut_at``: an occurrence in progress at that
instant was ended by hand then ("end now"); later occurrences are untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far ahead ``next_occurrences`` looks, in days (a monthly window on the 31st is found).
HORIZON_DAYS = 400

Occurrence = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Recurrence:
    frequency: str
    start_time: time
    duration: timedelta
    zone: ZoneInfo
    weekdays: frozenset[int] = frozenset()
    month_days: frozenset[int] = frozenset()
    valid_from: date | None = None
    valid_until: date | None = None

    def starts_on(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_until is not None and day > self.valid_until:
            return False
        if self.frequency == "weekly":
            return day.weekday() in self.weekdays
        if self.frequency == "monthly":
            return day.day in self.month_days
        return True

    def occurrence_on(self, day: date) -> Occurrence:
        # fold=0: a time skipped by the spring change takes the offset before it (later in
        # local time); a time repeated in autumn is its first instance.
        start = datetime.combine(day, self.start_time, tzinfo=self.zone).astimezone(UTC)
        return start, start + self.duration

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


@dataclass(frozen=True, slots=True)
class Schedule:
    """A one-off window (``starts_at``, ``ends_at``) or a ``recurrence``."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    recurrence: Recurrence | None = None
    cut_at: datetime | None = None

    def _cut(self, occurrence: Occurrence) -> Occurrence:
        start, end = occurrence
        if self.cut_at is not None and start <= self.cut_at < end:
            return start, self.cut_at
        return occurrence

    def _from_day(self, first: date) -> Iterator[Occurrence]:
        rec = self.recurrence
        assert rec is not None
        for offset in range(HORIZON_DAYS):
            day = first + timedelta(days=offset)
            if rec.valid_until is not None and day > rec.valid_until:
                return
            if rec.starts_on(day):
                start, end = self._cut(rec.occurrence_on(day))
                if end > start:
                    yield start, end

    def occurrence_at(self, at: datetime) -> Occurrence | None:
        """The occurrence open at ``at`` (start inclusive, end exclusive), or None."""
        if self.recurrence is None:
            if self.starts_at is None or self.ends_at is None:
                return None
            return (self.starts_at, self.ends_at) if self.starts_at <= at < self.ends_at else None
        rec = self.recurrence
        # Any occurrence open at ``at`` started within ``duration`` before it; a day of margin
        # either side covers offsets between UTC and local dates.
        first = rec.local_date(at - rec.duration) - timedelta(days=1)
        for start, end in self._from_day(first):
            if start > at:
                return None
            if start <= at < end:
                return start, end
        return None

    def active_at(self, at: datetime) -> bool:
        return self.occurrence_at(at) is not None

    def next_occurrences(self, after: datetime, count: int = 5) -> list[Occurrence]:
        """Up to ``count`` occurrences not over at ``after`` (one open at ``after`` first)."""
        if count <= 0:
            return []
        if self.recurrence is None:
            if self.starts_at is None or self.ends_at is None or self.ends_at <= after:
                return []
            return [(self.starts_at, self.ends_at)]
        rec = self.recurrence
        first = rec.local_date(after - rec.duration) - timedelta(days=1)
        out: list[Occurrence] = []
        for start, end in self._from_day(first):
            if end > after:
                out.append((start, end))
                if len(out) == count:
                    break
        return out


def state_of(schedule: Schedule, now: datetime) -> str:
    """``active`` inside an occurrence, ``scheduled`` with one ahead, else ``expired``."""
    if schedule.active_at(now):
        return "active"
    return "scheduled" if schedule.next_occurrences(now, 1) else "expired"
