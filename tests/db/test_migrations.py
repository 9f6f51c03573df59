"""The migrations shipped in the package build exactly the schema the models describe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from sophrosyne.db import migrate
from sophrosyne.db.base import load_models
from sophrosyne.db.engine import make_engine, normalise_url
from tests.conftest import PG_ADMIN_URL


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert migrate.is_up_to_date(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, load_models()) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it, private to this test."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield eng
        eng.dispose()
        return
    name = f"sophrosyne_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(PG_ADMIN_URL)).set(database=name)
    eng = make_engine(url.render_as_string(hide_password=False))
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_downgrade_upgrade(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.is_up_to_date(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT revision FROM catalog_revision")).scalar_one() == 1
    migrate.alembic_downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_engine)
    assert migrate.is_up_to_date(empty_engine)
