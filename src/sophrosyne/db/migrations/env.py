"""Alembic environment: runs migrations on the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from sophrosyne.db.base import load_models

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only through sophrosyne.db.migrate
    raise RuntimeError("run migrations through 'sophrosyne db upgrade'")

target_metadata = load_models()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
