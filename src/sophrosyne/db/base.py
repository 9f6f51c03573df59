"""The declarative base every ORM model inherits, with stable constraint names for Alembic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from sophrosyne.db.types import JSONType, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base: JSON and aware datetimes map to portable column types."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        datetime: UTCDateTime(),
    }


def load_models() -> MetaData:
    """Import every domain's models so ``Base.metadata`` is complete (Alembic, tests)."""
    # Imported here, not at module top, so db/ never depends on domains/ at import time.
    import importlib

    for name in (
        "alerts",
        "actions",
        "rules",
        "runs",
        "audit",
        "accounts",
        "targets",
        "confirmations",
        "recommendations",
        "tasks",
        "knowledge",
        "fixes",
        "guards",
        "incidents",
        "notifications",
        "oncall",
        "silences",
        "inhibitions",
        "maintenance",
    ):
        importlib.import_module(f"sophrosyne.domains.{name}.models")
    return Base.metadata
