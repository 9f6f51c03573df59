"""SQL for reports that aggregate a window of history, where SQLite and PostgreSQL differ:
seconds between two timestamp columns (durations computed in the database), fixed-length time
slots, and the planner setting such one-off aggregates want."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, cast, func, literal, text
from sqlalchemy.orm import Session


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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
    # Whole seconds from strftime, and integer division (timestamps are after 1970, so it
    # floors): julianday's float would put an instant on a slot boundary in the slot before.
    return cast(func.strftime("%s", column), Integer) // literal(seconds)


def without_jit(session: Session) -> None:
    """Turn PostgreSQL's JIT compilation off for the rest of this transaction.

    A report's aggregate (many sums over a few joins) is estimated costly enough to be
    compiled, and compiling took 2-3 s where running takes 0.5 s (24,000 firings, measured).
    Nothing to do on SQLite."""
    if _postgresql(session):
        session.execute(text("SET LOCAL jit = off"))
