"""Maintenance schedules: "is t inside the window" and "the next occurrences", table-driven,
including the days clocks change (Europe/Paris 2026-03-29 and 2026-10-25; New York
2026-11-01)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sophrosyne.domains.maintenance.active import recurrence_of
from sophrosyne.domains.maintenance.schedule import Recurrence, Schedule, state_of


def _z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _rec(frequency: str, start: str, minutes: int, zone: str, **extra: object) -> Schedule:
    raw = {
        "frequency": frequency,
        "start_time": start,
        "duration_minutes": minutes,
        "timezone": zone,
        **extra,
    }
    return Schedule(recurrence=recurrence_of(raw))


PARIS_NIGHTLY = _rec("daily", "01:00", 120, "Europe/Paris")
PARIS_GAP = _rec("daily", "02:30", 60, "Europe/Paris")
NY_MONDAY = _rec("weekly", "22:00", 60, "America/New_York", days=["mon"])
MONTH_END = _rec("monthly", "00:00", 60, "UTC", days_of_month=[31])
BOUNDED = _rec("daily", "12:00", 30, "UTC", valid_from="2026-06-10", valid_until="2026-06-11")
ONE_OFF = Schedule(starts_at=_z("2026-06-01T10:00"), ends_at=_z("2026-06-01T12:00"))


@pytest.mark.parametrize(
    ("schedule", "at", "inside"),
    [
        # One-off: start inclusive, end exclusive.
        (ONE_OFF, "2026-06-01T09:59", False),
        (ONE_OFF, "2026-06-01T10:00", True),
        (ONE_OFF, "2026-06-01T11:59", True),
        (ONE_OFF, "2026-06-01T12:00", False),
        # 01:00-03:00 Paris: 00:00-02:00 UTC in winter time, 23:00-01:00 UTC in summer time.
        (PARIS_NIGHTLY, "2026-03-28T00:30", True),
        (PARIS_NIGHTLY, "2026-03-28T02:00", False),
        (PARIS_NIGHTLY, "2026-03-29T01:30", True),  # the night of the change: starts in CET
        (PARIS_NIGHTLY, "2026-03-29T02:00", False),  # 2 elapsed hours: ends 04:00 CEST
        (PARIS_NIGHTLY, "2026-03-29T22:59", False),
        (PARIS_NIGHTLY, "2026-03-29T23:00", True),  # 01:00 CEST on the 30th
        (PARIS_NIGHTLY, "2026-03-30T00:59", True),
        (PARIS_NIGHTLY, "2026-03-30T01:00", False),
        # 02:30 does not exist on 2026-03-29 in Paris: it starts at 03:30 CEST (01:30 UTC).
        (PARIS_GAP, "2026-03-29T01:29", False),
        (PARIS_GAP, "2026-03-29T01:30", True),
        (PARIS_GAP, "2026-03-29T02:29", True),
        # 02:30 happens twice on 2026-10-25: the first (CEST, 00:30 UTC) counts.
        (PARIS_GAP, "2026-10-25T00:30", True),
        (PARIS_GAP, "2026-10-25T01:30", False),
        # Mondays 22:00 New York, before and after the clocks fall back on 2026-11-01.
        (NY_MONDAY, "2026-10-27T02:30", True),  # Mon 26 Oct 22:30 EDT
        (NY_MONDAY, "2026-11-03T02:30", False),  # Mon 2 Nov 21:30 EST: not yet
        (NY_MONDAY, "2026-11-03T03:30", True),  # Mon 2 Nov 22:30 EST
        (NY_MONDAY, "2026-11-04T03:30", False),  # a Tuesday
        # Monthly on the 31st; the window is bounded by valid_from/valid_until.
        (MONTH_END, "2026-01-31T00:30", True),
        (MONTH_END, "2026-02-28T00:30", False),
        (BOUNDED, "2026-06-09T12:10", False),
        (BOUNDED, "2026-06-10T12:10", True),
        (BOUNDED, "2026-06-11T12:10", True),
        (BOUNDED, "2026-06-12T12:10", False),
    ],
)
def test_inside_the_window(schedule: Schedule, at: str, inside: bool) -> None:
    assert schedule.active_at(_z(at)) is inside


@pytest.mark.parametrize(
    ("schedule", "after", "count", "starts"),
    [
        (ONE_OFF, "2026-05-01T00:00", 3, ["2026-06-01T10:00"]),
        (ONE_OFF, "2026-06-01T11:00", 3, ["2026-06-01T10:00"]),  # open now: listed first
        (ONE_OFF, "2026-06-01T12:00", 3, []),
        (
            PARIS_NIGHTLY,
            "2026-03-27T12:00",
            4,
            [
                "2026-03-28T00:00",
                "2026-03-29T00:00",
                "2026-03-29T23:00",
                "2026-03-30T23:00",
            ],
        ),
        (
            NY_MONDAY,
            "2026-10-20T00:00",
            3,
            [
                "2026-10-20T02:00",
                "2026-10-27T02:00",
                "2026-11-03T03:00",
            ],
        ),
        (
            MONTH_END,
            "2026-01-15T00:00",
            3,
            [
                "2026-01-31T00:00",
                "2026-03-31T00:00",
                "2026-05-31T00:00",
            ],
        ),
        (BOUNDED, "2026-01-01T00:00", 5, ["2026-06-10T12:00", "2026-06-11T12:00"]),
        (BOUNDED, "2026-06-12T00:00", 5, []),
    ],
)
def test_next_occurrences(schedule: Schedule, after: str, count: int, starts: list[str]) -> None:
    got = schedule.next_occurrences(_z(after), count)
    assert [s for s, _ in got] == [_z(s) for s in starts]
    rec = schedule.recurrence
    if rec is not None:
        assert all(e - s == rec.duration for s, e in got)


def test_cut_ends_the_open_occurrence_only() -> None:
    nightly = PARIS_NIGHTLY.recurrence
    assert nightly is not None
    cut = Schedule(recurrence=nightly, cut_at=_z("2026-03-28T00:30"))
    assert not cut.active_at(_z("2026-03-28T00:45"))
    assert cut.active_at(_z("2026-03-28T00:15"))
    assert cut.active_at(_z("2026-03-29T00:15"))  # the next night is untouched
    assert cut.next_occurrences(_z("2026-03-28T00:45"), 1) == [
        (_z("2026-03-29T00:00"), _z("2026-03-29T02:00"))
    ]


def test_states() -> None:
    assert state_of(ONE_OFF, _z("2026-05-01T00:00")) == "scheduled"
    assert state_of(ONE_OFF, _z("2026-06-01T10:30")) == "active"
    assert state_of(ONE_OFF, _z("2026-06-02T00:00")) == "expired"
    assert state_of(BOUNDED, _z("2026-07-01T00:00")) == "expired"


def test_recurrence_from_stored_form() -> None:
    rec = recurrence_of(
        {
            "frequency": "weekly",
            "days": ["mon", "fri"],
            "start_time": "22:15:00",
            "duration_minutes": 90,
            "timezone": "Europe/Paris",
            "valid_until": "2027-01-01",
        }
    )
    assert rec == Recurrence(
        frequency="weekly",
        start_time=time(22, 15),
        duration=timedelta(minutes=90),
        zone=ZoneInfo("Europe/Paris"),
        weekdays=frozenset({0, 4}),
        valid_until=date(2027, 1, 1),
    )
