"""``sophrosyne validate`` and ``apply`` with recommendations and runbook articles."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import migrated_sqlite, rows, sophrosyne
from tests.flows.test_configknowledge import PEOPLE, write


def test_validate_counts_and_apply_stores_them(tmp_path: Path) -> None:
    config = write(tmp_path, PEOPLE)
    result = sophrosyne("validate", config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0 actions, 0 rules, 1 recommendation, 1 article: OK"]

    db = migrated_sqlite(tmp_path)
    applied = sophrosyne("apply", config, "--actor", "cli:test", env=db)
    assert applied.returncode == 0, applied.stderr
    assert rows(db, "SELECT name, managed_by FROM recommendations") == [("replace-disk", "file")]
    assert rows(db, "SELECT slug, review_by FROM articles") == [("disk-failures", "2026-01-31")]


def test_validate_names_the_unsafe_field(tmp_path: Path) -> None:
    config = write(tmp_path, PEOPLE.replace("Call the provider.", "<script>x()</script>"))
    result = sophrosyne("validate", config)
    assert result.returncode == 1
    assert f"{config / 'people.yaml'}:8: recommendations[0].instructions: must not contain" in (
        result.stdout
    )
