"""SQL expressions for reports that differ between SQLite and PostgreSQL: time buckets,
durations in seconds, the first line of a text, and the elements of a JSON array of strings.

Every report aggregates in the database; these are the only dialect branches it needs.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    cast,
    exists,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import Function

#: The units a report buckets time by.
BucketUnit = Literal["hour", "day", "week"]

#: The text every bucket expression yields, on both dialects (UTC, no zone suffix).
BUCKET_FORMAT = "%Y-%m-%d %H:%M:%S"

_SQLITE_BUCKETS: dict[str, tuple[str, ...]] = {
    "hour": ("%Y-%m-%d %H:00:00",),
    "day": ("%Y-%m-%d 00:00:00",),
    # ISO weeks start on Monday: back six days, then forward to the next Monday (or stay).
    "week": ("%Y-%m-%d 00:00:00", "-6 days", "weekday 1"),
}


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def time_bucket(session: Session, column: Any, unit: BucketUnit) -> ColumnElement[str]:
    """The start of the ``unit`` (hour, day, ISO week) holding ``column``, as UTC text in
    ``BUCKET_FORMAT``, so both dialects group and sort the same way."""
    if unit not in _SQLITE_BUCKETS:
        raise ValueError(f"unknown bucket unit {unit!r}")
    if _postgresql(session):
        utc = func.timezone("UTC", column)
        truncated = func.date_trunc(unit, utc)
        return func.to_char(truncated, "YYYY-MM-DD HH24:MI:SS", type_=String)
    fmt, *modifiers = _SQLITE_BUCKETS[unit]
    return func.strftime(fmt, column, *modifiers, type_=String)


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """``later - earlier`` in seconds (NULL when either is NULL)."""
    if _postgresql(session):
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * literal(86400.0)


def first_line(session: Session, text: Any) -> ColumnElement[str]:
    """The text up to its first newline (all of it when it has none)."""
    if _postgresql(session):
        return func.split_part(text, "\n", 1, type_=String)
    return func.substr(text, 1, func.instr(text + "\n", "\n") - 1, type_=String)


def json_strings(session: Session, column: Any) -> Function[Any]:
    """A table-valued function over the elements of the JSON array ``column``, with one
    column ``value`` (text); join it to the table ``column`` belongs to."""
    if _postgresql(session):
        return func.jsonb_array_elements_text(column).table_valued("value")  # type: ignore[return-value]
    return func.json_each(column).table_valued("value")  # type: ignore[return-value]


def json_array_has(session: Session, column: Any, value: str) -> ColumnElement[bool]:
    """True where the JSON array of strings ``column`` contains ``value``."""
    if _postgresql(session):
        return type_coerce(column, JSONB()).contains([value])
    each = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == value))
