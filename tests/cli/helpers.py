"""Running the real ``sophrosyne`` command in tests, against a migrated SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from sophrosyne.db.engine import make_engine
from sophrosyne.db.migrate import upgrade


def sophrosyne(
    *args: str | Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a subprocess. Settings come only from ``env``: none of the caller's own
    ``SOPHROSYNE_*`` variables leak in."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHROSYNE_")} | {
        "SOPHROSYNE_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "sophrosyne.cli", *map(str, args)],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        timeout=60,
        check=False,
    )


def migrated_sqlite(directory: Path) -> dict[str, str]:
    """Environment pointing the CLI at a new, migrated SQLite file in ``directory``."""
    url = f"sqlite:///{directory / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return {"SOPHROSYNE_DATABASE_URL": url, "SOPHROSYNE_DATA_DIR": str(directory)}


def rows(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` from the database ``env`` points at."""
    engine = make_engine(env["SOPHROSYNE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()
