"""Who is on call: rotations across time zones and DST, layers, restrictions, overrides, iCal."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar

from sophrosyne.domains.oncall.ical import calendar
from sophrosyne.domains.oncall.rotation import Cover, current_and_next, shifts, who_is_on_call
from sophrosyne.domains.oncall.schemas import ScheduleSpec


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def schedule(zone: str = "Europe/Paris", **layer: Any) -> ScheduleSpec:
    base = {"users": ["alice", "bob"], "start": "2026-03-23", "handoff": "09:00"}
    return ScheduleSpec.model_validate(
        {"name": "primary", "time_zone": zone, "layers": [base | layer]}
    )


def test_weekly_handoff_stays_at_local_time_across_dst() -> None:
    s = schedule()  # Paris: CET (UTC+1) until 29 March 2026, CEST (UTC+2) after
    assert who_is_on_call(s, _utc(2026, 3, 23, 7, 59)) is None  # before the first hand-off
    assert who_is_on_call(s, _utc(2026, 3, 23, 8, 0)) == "alice"  # 09:00 CET
    assert who_is_on_call(s, _utc(2026, 3, 30, 6, 59)) == "alice"  # 08:59 CEST
    assert who_is_on_call(s, _utc(2026, 3, 30, 7, 0)) == "bob"  # 09:00 CEST
    assert who_is_on_call(s, _utc(2026, 4, 6, 7, 0)) == "alice"
    first = shifts(s, _utc(2026, 3, 23, 8), _utc(2026, 4, 6, 7))
    assert [(x.user, x.end - x.start) for x in first] == [
        ("alice", timedelta(hours=167)),  # the week with the short night
        ("bob", timedelta(hours=168)),
    ]


def test_the_same_rotation_in_other_time_zones() -> None:
    at = _utc(2026, 6, 1, 12, 0)  # Monday
    ny = schedule("America/New_York", rotation="daily")
    tokyo = schedule("Asia/Tokyo", rotation="daily")
    # New York 08:00 on Monday: the Sunday shift still runs; Tokyo 21:00: Monday's.
    assert who_is_on_call(ny, at) != who_is_on_call(tokyo, at)
    current, nxt = current_and_next(ny, at)
    assert current.end == _utc(2026, 6, 1, 13, 0)  # 09:00 EDT
    assert nxt is not None and nxt.start == current.end and nxt.user != current.user
    current, _ = current_and_next(tokyo, at)
    assert current.start == _utc(2026, 6, 1, 0, 0)  # 09:00 JST


def test_hour_rotations_count_elapsed_hours_through_dst() -> None:
    s = schedule("Europe/Paris", rotation="hours", shift_hours=12, handoff="08:00")
    # First hand-off 2026-03-23 07:00Z; 12-hour shifts keep their UTC rhythm after DST.
    assert who_is_on_call(s, _utc(2026, 3, 30, 7, 0)) == "alice"  # 14 shifts later
    assert who_is_on_call(s, _utc(2026, 3, 30, 19, 0)) == "bob"


def test_higher_layer_with_restriction_and_overrides() -> None:
    spec = ScheduleSpec.model_validate(
        {
            "name": "db",
            "time_zone": "Europe/Berlin",
            "layers": [
                {"name": "weekdays", "users": ["alice", "bob"], "start": date(2026, 5, 4)},
                {
                    "name": "weekend",
                    "users": ["carol"],
                    "start": date(2026, 5, 4),
                    "rotation": "daily",
                    "handoff": time(0, 0),
                    "restriction": {"days": ["sat", "sun"]},
                },
            ],
        }
    )
    saturday_noon = _utc(2026, 5, 9, 10, 0)
    assert who_is_on_call(spec, saturday_noon) == "carol"
    assert who_is_on_call(spec, _utc(2026, 5, 8, 10, 0)) == "alice"  # Friday
    assert who_is_on_call(spec, _utc(2026, 5, 11, 10, 0)) == "bob"  # Monday after 09:00
    current, nxt = current_and_next(spec, saturday_noon)
    assert (current.user, current.layer) == ("carol", "weekend")
    assert current.end == _utc(2026, 5, 10, 22, 0)  # Monday 00:00 CEST
    assert nxt is not None and nxt.user == "alice"  # her week runs until Monday 09:00

    cover = Cover("dave", _utc(2026, 5, 9, 8, 0), _utc(2026, 5, 9, 20, 0))
    earlier = Cover("erin", _utc(2026, 5, 9, 0, 0), _utc(2026, 5, 9, 12, 0))
    assert who_is_on_call(spec, saturday_noon, [earlier, cover]) == "dave"  # newest wins
    assert who_is_on_call(spec, _utc(2026, 5, 9, 7, 0), [earlier, cover]) == "erin"
    current, nxt = current_and_next(spec, saturday_noon, [cover])
    assert (current.user, current.layer, current.end) == ("dave", "override", cover.ends_at)
    assert nxt is not None and nxt.user == "carol" and nxt.start == cover.ends_at


def test_ical_export_parses_back() -> None:
    s = schedule()
    start = _utc(2026, 3, 23, 8)
    timeline = shifts(s, start, start + timedelta(days=14))
    data = calendar("primary", timeline, now=start, host="sophrosyne.test")
    parsed = Calendar.from_ical(data)
    events = [c for c in parsed.walk() if c.name == "VEVENT"]
    assert [str(e["summary"]) for e in events] == [
        "On call: alice (primary)",
        "On call: bob (primary)",
        "On call: alice (primary)",  # from 09:00 CEST on 6 April, an hour before the end
    ]
    assert events[-1].decoded("dtstart") == _utc(2026, 4, 6, 7)
    assert events[0].decoded("dtstart") == start
    assert events[0].decoded("dtend") == _utc(2026, 3, 30, 7)
    assert len({str(e["uid"]) for e in events}) == 3
