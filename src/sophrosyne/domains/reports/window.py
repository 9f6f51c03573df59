"""The time window of a report, pure: the presets (24h, 7d, 30d, 90d) and custom from/to,
validated with errors that name the field, the bucket size its charts use, the equal window
just before it (for comparisons), and every bucket start in it (so empty buckets show)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sophrosyne.db.reporting import BucketUnit
from sophrosyne.errors import FieldError, ValidationFailed

PRESETS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
CUSTOM = "custom"
DEFAULT = "7d"
#: A custom window may span at most this much (a year and a day, for leap years).
MAX_SPAN = timedelta(days=366)
#: Up to this span a window is bucketed by hour; up to ``_DAYS_UP_TO`` by day; beyond by week.
_HOURS_UP_TO = timedelta(days=2)
_DAYS_UP_TO = timedelta(days=62)
_STEP: dict[str, timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}


def bucket_for(span: timedelta) -> BucketUnit:
    """Hours for up to two days, days for up to ~two months, weeks beyond."""
    if span <= _HOURS_UP_TO:
        return "hour"
    if span <= _DAYS_UP_TO:
        return "day"
    return "week"


def truncate(when: datetime, unit: BucketUnit) -> datetime:
    """The start of the bucket holding ``when`` (UTC; weeks start on Monday)."""
    when = when.astimezone(UTC)
    if unit == "hour":
        return when.replace(minute=0, second=0, microsecond=0)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC, named after its preset (or ``custom``)."""

    name: str
    start: datetime
    end: datetime
    bucket: BucketUnit

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Window:
        """The window of equal length that ends where this one starts."""
        return Window(self.name, self.start - self.span, self.start, self.bucket)

    def bucket_starts(self) -> list[datetime]:
        """The start of every bucket that overlaps the window, oldest first."""
        step = _STEP[self.bucket]
        out: list[datetime] = []
        at = truncate(self.start, self.bucket)
        while at < self.end:
            out.append(at)
            at += step
        return out

    def query(self) -> dict[str, str]:
        """The query parameters that ask for this window again."""
        if self.name == CUSTOM:
            return {"window": CUSTOM, "from": _text(self.start), "to": _text(self.end)}
        return {"window": self.name}


def _text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(field: str, raw: str, errors: list[FieldError]) -> datetime | None:
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors.append(
            FieldError(
                (field,), "must be a date or date and time (ISO 8601, e.g. 2026-11-02T08:00)"
            )
        )
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse(window: str | None, start: str | None, end: str | None, *, now: datetime) -> Window:
    """The window asked for by ``window`` (a preset, or ``custom``) and ``from``/``to``.

    Empty strings count as absent (what an HTML form sends). ``from`` or ``to`` without
    ``window`` means a custom window; a custom window needs ``from``, and ``to`` defaults to
    now. Raises ``ValidationFailed`` naming ``window``, ``from`` or ``to``.
    """
    name = (window or "").strip() or None
    start = (start or "").strip() or None
    end = (end or "").strip() or None
    if name is None:
        name = CUSTOM if (start or end) else DEFAULT
    if name in PRESETS:
        if start or end:
            field = "from" if start else "to"
            raise ValidationFailed.single(
                (field,), f"is only taken with window=custom, not window={name}"
            )
        span = PRESETS[name]
        return Window(name, now - span, now, bucket_for(span))
    if name != CUSTOM:
        allowed = ", ".join([*PRESETS, CUSTOM])
        raise ValidationFailed.single(("window",), f"must be one of {allowed}, not {name!r}")
    errors: list[FieldError] = []
    if start is None:
        errors.append(FieldError(("from",), "is required for a custom window"))
        begin = None
    else:
        begin = _instant("from", start, errors)
    finish = now if end is None else _instant("to", end, errors)
    if errors:
        raise ValidationFailed(errors)
    assert begin is not None and finish is not None
    if finish <= begin:
        raise ValidationFailed.single(("to",), "must be later than from")
    if finish - begin > MAX_SPAN:
        raise ValidationFailed.single(("from",), "a custom window spans at most 366 days")
    return Window(CUSTOM, begin, finish, bucket_for(finish - begin))
