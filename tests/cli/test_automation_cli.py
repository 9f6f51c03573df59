"""``sophrosyne automation pause | resume | status``, run as subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import migrated_sqlite, rows, sophrosyne


@pytest.fixture
def db(tmp_path: Path) -> dict[str, str]:
    return migrated_sqlite(tmp_path)


def test_pause_status_resume(db: dict[str, str]) -> None:
    result = sophrosyne("automation", "status", env=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "automation: running"

    assert sophrosyne("automation", "pause", env=db).returncode == 2  # --reason is required
    assert sophrosyne("automation", "pause", "--reason", " ", env=db).returncode == 2
    result = sophrosyne("automation", "pause", "--reason", "storage migration", env=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("automation: PAUSED since ")
    assert result.stdout.strip().endswith("by cli: storage migration")
    assert "PAUSED" in sophrosyne("automation", "status", env=db).stdout
    assert rows(db, "SELECT paused, reason, changed_by FROM automation") == [
        (1, "storage migration", "cli")
    ]

    result = sophrosyne("automation", "resume", env=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("automation: running (resumed ")
    assert rows(db, "SELECT paused FROM automation") == [(0,)]
    assert rows(db, "SELECT action, actor FROM audit_log ORDER BY id") == [
        ("automation.paused", "cli"),
        ("automation.resumed", "cli"),
    ]
