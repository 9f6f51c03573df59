"""iCalendar (RFC 5545) export of a schedule's shifts, with the ``icalendar`` package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sophrosyne.domains.oncall.rotation import Shift


def calendar(name: str, shifts: Sequence[Shift], *, now: datetime, host: str) -> bytes:
    """One VEVENT per shift with someone on call; UIDs are stable for the same shift."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Sophrosyne//on-call//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"On call: {name}")
    for shift in shifts:
        if shift.user is None:
            continue
        event = Event()
        event.add("uid", f"{name}-{int(shift.start.timestamp())}-{shift.user}@{host}")
        event.add("summary", f"On call: {shift.user} ({name})")
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("dtstamp", now)
        event.add("description", f"{shift.user} is on call for {name} ({shift.layer}).")
        cal.add_component(event)
    return bytes(cal.to_ical())
