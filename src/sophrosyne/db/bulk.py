"""Bulk INSERTs for the ingest path, in one short statement per batch on either dialect.

SQLAlchemy's executemany machinery costs tens of microseconds per row, and psycopg re-parses
long statements with thousands of placeholders on every call; at 100 alerts a batch that was
most of the time spent ingesting. Here:

* SQLite gets one multi-row ``INSERT … VALUES (?, …), (?, …) RETURNING …`` (parsed in C);
* PostgreSQL gets ``INSERT … SELECT … FROM jsonb_to_recordset(%s)``: one parameter holding the
  whole batch as JSON, so the statement text is short and its plan is reused.

Values still go through each column's own type (bind processors), so what is stored is exactly
what the ORM would have stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, DateTime, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from sophrosyne.db.types import UTCDateTime

#: SQLite allows 32,766 bound variables per statement since 3.32; stay well below.
_SQLITE_MAX_VARIABLES = 30000

_Processor = Callable[[Any], Any] | None


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    returning: Sequence[str] = (),
    ignore_conflicts_on: Sequence[str] | None = None,
) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` (dicts with the same keys); return ``returning`` columns of the rows
    actually inserted, in no promised order. With ``ignore_conflicts_on``, rows colliding on
    those columns' unique constraint are skipped silently."""
    if not rows:
        return []
    columns = list(rows[0])
    first = rows[0].keys()
    for row in rows:
        if row.keys() != first:  # a set comparison done in C
            raise ValueError(f"every row inserted into {table.name} needs the same columns")
    conn = session.connection()
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    tail = ""
    if ignore_conflicts_on:
        tail += f" ON CONFLICT ({', '.join(quote(c) for c in ignore_conflicts_on)}) DO NOTHING"
    if returning:
        tail += f" RETURNING {', '.join(quote(c) for c in returning)}"
    names = ", ".join(quote(c) for c in columns)
    build = _postgresql if dialect.name == "postgresql" else _sqlite
    statements = build(
        table=table, columns=columns, rows=rows, names=names, tail=tail, dialect=dialect
    )
    out: list[tuple[Any, ...]] = []
    for sql, params in statements:
        result = conn.exec_driver_sql(sql, params)
        if returning:
            out.extend(tuple(r) for r in result)
    return out


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()  # None becomes 'null', as SQLAlchemy's JSON type does


def _bool_int(value: Any) -> int | None:
    return None if value is None else int(bool(value))


@lru_cache(maxsize=256)
def _processors(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> list[tuple[_Processor, bool]]:
    """Each column's bind processor, and whether it holds timestamps; made once per table,
    column set and dialect (building them per batch was measurable). JSON and booleans get
    direct equivalents of SQLAlchemy's processors, which wrap them in further calls."""
    out: list[tuple[_Processor, bool]] = []
    for c in columns:
        column_type = table.c[c].type
        proc: _Processor
        if isinstance(column_type, JSON):
            proc = _json_text
        elif isinstance(column_type, Boolean) and dialect.name == "sqlite":
            proc = _bool_int
        else:
            proc = column_type.bind_processor(dialect)
        out.append((proc, isinstance(column_type, UTCDateTime | DateTime)))
    return out


def _sqlite(
    *,
    table: Table,
    columns: list[str],
    rows: Sequence[dict[str, Any]],
    names: str,
    tail: str,
    dialect: Dialect,
) -> list[tuple[str, tuple[Any, ...]]]:
    quote = dialect.identifier_preparer.quote
    procs = _processors(table, tuple(columns), dialect)
    one = "(" + ", ".join("?" * len(columns)) + ")"
    per_chunk = max(1, _SQLITE_MAX_VARIABLES // len(columns))
    out = []
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start : start + per_chunk]
        # Column by column with comprehensions: several times faster than a loop per value.
        by_column = [
            _bind_column([row[col] for row in chunk], proc, stamps)
            for col, (proc, stamps) in zip(columns, procs, strict=True)
        ]
        flat = tuple(chain.from_iterable(zip(*by_column, strict=True)))
        # Only identifiers from our own table metadata are spliced in; every value is bound.
        sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES {', '.join([one] * len(chunk))}{tail}"  # noqa: S608, E501
        out.append((sql, flat))
    return out


def _bind_column(values: list[Any], proc: _Processor, stamps: bool) -> list[Any]:
    if proc is None:
        return values
    if stamps:
        # A batch repeats the same few timestamps ("now") hundreds of times: convert each
        # distinct one once, to the text SQLAlchemy binds: always with microseconds, since
        # SQLite compares the text ("... 00:00:00" sorts before "... 00:00:00.000000", so a
        # whole-second stamp would fall outside a range that starts on it).
        memo: dict[Any, Any] = {}
        for v in set(values):
            stored = proc(v)
            memo[v] = (
                stored.isoformat(" ", timespec="microseconds")
                if isinstance(stored, datetime)
                else stored
            )
        return [memo[v] for v in values]
    return [proc(v) for v in values]


def _json_default(value: Any) -> Any:
    raise TypeError(f"cannot store {type(value).__name__} in a bulk insert")


def _postgresql(
    *,
    table: Table,
    columns: list[str],
    rows: Sequence[dict[str, Any]],
    names: str,
    tail: str,
    dialect: Dialect,
) -> list[tuple[str, tuple[Any, ...]]]:
    quote = dialect.identifier_preparer.quote
    spec = ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    for row in rows:
        for value in row.values():
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError("naive datetime in a bulk insert")
    # orjson writes aware datetimes as RFC 3339, which timestamptz reads back exactly.
    payload = orjson.dumps(list(rows), default=_json_default).decode()
    sql = (  # only identifiers from our own table metadata are spliced in
        f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} "  # noqa: S608
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({spec}){tail}"
    )
    return [(sql, (payload,))]


__all__ = ["insert_rows"]
