"""Time arithmetic in SQL, which each dialect spells differently: seconds since the epoch of a
timestamp column, seconds between two (durations computed in the database), and fixed-length
time slots."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, cast, func, literal
from sqlalchemy.orm import Session

#: julianday() of 1970-01-01T00:00:00Z.
_UNIX_EPOCH_JULIAN = 2440587.5


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def epoch_seconds(session: Session, column: Any) -> Any:
    """Seconds since 1970 of a ``UTCDateTime`` column, as a float expression.

    SQLite stores those as naive UTC text, which ``julianday`` reads (fractions included)."""
    if _postgresql(session):
        return cast(func.date_part("epoch", column), Float)
    return (func.julianday(column) - literal(_UNIX_EPOCH_JULIAN)) * literal(86400.0)


def seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    """``later - earlier`` in seconds (a float expression; NULL when either is NULL).

    SQLite's ``julianday`` is a float of days, so the difference is rounded to the
    millisecond: a minute must come out as 60, not 59.99999."""
    if _postgresql(session):
        return cast(func.date_part("epoch", later - earlier), Float)
    return func.round((func.julianday(later) - func.julianday(earlier)) * literal(86400.0), 3)


def slot(session: Session, column: Any, seconds: int) -> Any:
    """The number of the ``seconds``-long slot (counted from 1970) that a timestamp is in."""
    if _postgresql(session):
        return cast(func.floor(func.date_part("epoch", column) / seconds), Integer)
    # Timestamps are after 1970, so truncating is flooring.
    return cast(epoch_seconds(session, column) / literal(float(seconds)), Integer)
