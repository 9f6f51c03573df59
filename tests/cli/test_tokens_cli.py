"""``sophrosyne token create | list | revoke``: service tokens, listed with their owners."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import migrated_sqlite, sophrosyne


def test_create_list_revoke(tmp_path: Path) -> None:
    env = migrated_sqlite(tmp_path)
    made = sophrosyne("token", "create", "am", "--scope", "ingest", env=env)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("sph_")
    listed = sophrosyne("token", "list", env=env)
    [line] = listed.stdout.splitlines()
    assert line.split("\t") == ["am", secret[:10] + "…", "ingest", "active", "(service)"]
    assert secret not in listed.stdout
    assert sophrosyne("token", "revoke", "am", env=env).returncode == 0
    assert "\trevoked\t" in sophrosyne("token", "list", env=env).stdout
