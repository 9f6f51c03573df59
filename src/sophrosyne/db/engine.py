"""Engine and session factories for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.db.sqlite_gate import WriteGate, begin_immediate, connection_class

_READONLY = "sophrosyne_readonly"


def normalise_url(url: str) -> str:
    """Map plain ``postgresql://`` URLs to the psycopg 3 driver we ship."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", echo: bool = False) -> Engine:
    """Build the engine; for SQLite also create its directory and set WAL and pragmas."""
    url = normalise_url(url)
    u = make_url(url)
    kwargs: dict[str, Any] = {
        "echo": echo,
        # orjson is several times faster than json for the labels and annotations we store.
        "json_serializer": _dumps,
        "json_deserializer": orjson.loads,
    }
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {
            "timeout": 30,
            "check_same_thread": False,
            "factory": connection_class(WriteGate(timeout_seconds=30)),
        }
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    # No JIT: PostgreSQL compiles a query whose *estimated* cost passes jit_above_cost, and our
    # report queries (correlated EXISTS per row) are estimated high though they run in tens of
    # milliseconds; compiling them took over a second (measured on the fatigue page).
    kwargs["connect_args"] = {"options": "-c jit=off"}
    return create_engine(url, **kwargs)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError("sqlite synchronous must be FULL or NORMAL")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # 64 MiB of page cache per connection (the default is 2 MiB): index pages of the
        # alerts and runs tables stay in memory under sustained ingest.
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never
        # fail with SQLITE_BUSY half-way, it waits on busy_timeout instead. Sessions made with
        # readonly=True begin DEFERRED and never take the lock.
        if conn.get_execution_options().get(_READONLY):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            begin_immediate(conn.connection.dbapi_connection)


def make_session_factory(engine: Engine, *, readonly: bool = False) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (edges read them to build replies).

    ``readonly`` sessions are for requests that only read: on SQLite they do not take the
    write lock. (They are not prevented from writing; on SQLite a write in one may fail with
    "database is locked" instead of waiting, so don't.)
    """
    bind = engine.execution_options(**{_READONLY: True}) if readonly else engine
    return sessionmaker(bind, expire_on_commit=False)


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "sqlite"
