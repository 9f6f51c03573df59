"""Report windows: presets, custom from/to, errors naming the field, bucket sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sophrosyne.domains.reports.window import parse, truncate
from sophrosyne.errors import ValidationFailed

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("name", "span", "bucket"),
    [
        ("24h", timedelta(hours=24), "hour"),
        ("7d", timedelta(days=7), "day"),
        ("30d", timedelta(days=30), "day"),
        ("90d", timedelta(days=90), "week"),
    ],
)
def test_presets(name: str, span: timedelta, bucket: str) -> None:
    w = parse(name, None, None, now=NOW)
    assert (w.name, w.start, w.end, w.bucket) == (name, NOW - span, NOW, bucket)
    assert w.query() == {"window": name}


def test_default_is_seven_days_and_empty_strings_are_absent() -> None:
    assert parse(None, None, None, now=NOW).name == "7d"
    assert parse("", "", "", now=NOW).name == "7d"


def test_bucket_starts_cover_the_window() -> None:
    day = parse("24h", None, None, now=NOW)
    starts = day.bucket_starts()
    assert len(starts) == 25  # a partial hour at each end
    assert starts[0] == datetime(2026, 11, 21, 12, tzinfo=UTC)
    week = parse("90d", None, None, now=NOW)
    assert all(s.weekday() == 0 and s.hour == 0 for s in week.bucket_starts())
    assert week.bucket_starts()[-1] == datetime(2026, 11, 16, tzinfo=UTC)


def test_custom_window() -> None:
    w = parse("custom", "2026-11-01", "2026-11-03T06:00:00Z", now=NOW)
    assert w.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert w.end == datetime(2026, 11, 3, 6, tzinfo=UTC)
    assert w.bucket == "day"  # more than two days
    assert w.query() == {
        "window": "custom",
        "from": "2026-11-01T00:00:00Z",
        "to": "2026-11-03T06:00:00Z",
    }
    # from alone means custom, ending now; offsets are converted to UTC.
    w = parse(None, "2026-11-22T10:00+02:00", None, now=NOW)
    assert (w.name, w.start, w.end, w.bucket) == (
        "custom",
        datetime(2026, 11, 22, 8, tzinfo=UTC),
        NOW,
        "hour",
    )
    previous = w.previous()
    assert previous.end == w.start and previous.span == w.span


@pytest.mark.parametrize(
    ("window", "start", "end", "fields"),
    [
        ("2w", None, None, [("window",)]),
        ("custom", None, None, [("from",)]),
        ("custom", "soon", "later", [("from",), ("to",)]),
        ("custom", "2026-11-02", "2026-11-01", [("to",)]),
        ("custom", "2025-01-01", "2026-11-01", [("from",)]),
        ("24h", None, "2026-11-01", [("to",)]),
    ],
)
def test_bad_windows_name_the_field(
    window: str, start: str | None, end: str | None, fields: list[tuple[str]]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(window, start, end, now=NOW)
    assert [e.loc for e in caught.value.errors] == fields


def test_truncate() -> None:
    t = datetime(2026, 11, 19, 15, 45, 12, tzinfo=UTC)  # a Thursday
    assert truncate(t, "hour") == datetime(2026, 11, 19, 15, tzinfo=UTC)
    assert truncate(t, "day") == datetime(2026, 11, 19, tzinfo=UTC)
    assert truncate(t, "week") == datetime(2026, 11, 16, tzinfo=UTC)
