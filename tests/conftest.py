"""Shared fixtures: every database test runs on real SQLite and real PostgreSQL.

Choose backends with ``SOPHROSYNE_TEST_BACKENDS`` (default ``sqlite,postgresql``); the
PostgreSQL server is reached through ``SOPHROSYNE_TEST_PG_URL`` (an admin URL; a throwaway
database is created for the session and dropped afterwards).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.db.base import load_models
from sophrosyne.db.engine import make_engine, make_session_factory, normalise_url
from sophrosyne.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "SOPHROSYNE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b.strip() for b in os.environ.get("SOPHROSYNE_TEST_BACKENDS", "sqlite,postgresql").split(",")
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    # Closing the last connection checkpoints the WAL into the main file, so a copy is whole.
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"sophrosyne_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = (
        make_url(normalise_url(PG_ADMIN_URL))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(engine: Engine) -> None:
    # catalog_revision is the one seeded row the schema needs; it is reset, not emptied.
    tables = ", ".join(t.name for t in load_models().sorted_tables if t.name != "catalog_revision")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE catalog_revision SET revision = 1")
        # The audit log refuses TRUNCATE by design; tests lift that guard only for cleanup.
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER USER")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "sophrosyne.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        _truncate_pg(engine)
        engine.dispose()
        yield url
    else:  # pragma: no cover - a typo in SOPHROSYNE_TEST_BACKENDS
        raise ValueError(f"unknown backend {request.param}")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose changes the test commits itself (services never commit)."""
    with session_factory() as s:
        yield s
        s.rollback()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
