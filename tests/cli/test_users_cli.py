"""``sophrosyne user create | list | set-role | disable | unlock``, run as subprocesses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.accounts import users
from tests.cli.helpers import migrated_sqlite, rows, sophrosyne

PASSWORD = "cli-Password-value-123"


@pytest.fixture
def db(tmp_path: Path) -> dict[str, str]:
    """A migrated, empty SQLite file."""
    return migrated_sqlite(tmp_path)


def _login(env: dict[str, str], name: str, password: str = PASSWORD) -> str:
    engine = make_engine(env["SOPHROSYNE_DATABASE_URL"])
    try:
        with make_session_factory(engine).begin() as session:
            return users.authenticate(session, name, password, now=datetime.now(UTC)).username
    finally:
        engine.dispose()


def test_create_list_set_role_disable(db: dict[str, str]) -> None:
    result = sophrosyne(
        "user", "create", "Alice", "--admin", "--display-name", "Alice A.",
        env=db, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "created alice (admin)"
    assert _login(db, "alice") == "alice"
    result = sophrosyne("user", "create", "bob", "--role", "operator", env=db, stdin=PASSWORD)
    assert result.returncode == 0, result.stderr

    result = sophrosyne("user", "list", env=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "alice\tadmin\tactive\tAlice A.",
        "bob\toperator\tactive\tbob",
    ]

    result = sophrosyne("user", "set-role", "bob", "viewer", env=db)
    assert (result.returncode, result.stdout.strip()) == (0, "bob is now viewer")
    result = sophrosyne("user", "set-role", "alice", "viewer", env=db)
    assert result.returncode == 1 and "last active admin" in result.stderr
    result = sophrosyne("user", "set-role", "bob", "root", env=db)
    assert result.returncode == 2

    result = sophrosyne("user", "disable", "bob", env=db)
    assert (result.returncode, result.stdout.strip()) == (0, "disabled bob")
    assert "bob\tviewer\tdisabled\tbob" in sophrosyne("user", "list", env=db).stdout
    result = sophrosyne("user", "disable", "alice", env=db)
    assert result.returncode == 1 and "last active admin" in result.stderr

    audit = rows(db, "SELECT actor, action, object_id, detail FROM audit_log ORDER BY id")
    assert [(a, b, c) for a, b, c, _ in audit] == [
        ("cli", "user.created", "alice"),
        ("cli", "user.created", "bob"),
        ("cli", "user.role_set", "bob"),
        ("cli", "user.disabled", "bob"),
    ]
    assert not any(PASSWORD in str(row) for row in audit)
    hashes = rows(db, "SELECT password_hash FROM users")
    assert all(str(h).startswith("$argon2id$") and PASSWORD not in str(h) for (h,) in hashes)


def test_unlock(db: dict[str, str]) -> None:
    assert sophrosyne("user", "create", "carol", env=db, stdin=PASSWORD).returncode == 0
    engine = make_engine(db["SOPHROSYNE_DATABASE_URL"])
    with make_session_factory(engine).begin() as session:
        user = users.get_by_username(session, "carol")
        user.failed_logins = 5
        user.locked_until = datetime.now(UTC) + timedelta(minutes=10)
    engine.dispose()
    assert "carol\tviewer\tlocked until " in sophrosyne("user", "list", env=db).stdout
    result = sophrosyne("user", "unlock", "carol", env=db)
    assert (result.returncode, result.stdout.strip()) == (0, "unlocked carol")
    assert "carol\tviewer\tactive\tcarol" in sophrosyne("user", "list", env=db).stdout
    assert _login(db, "carol") == "carol"
    assert rows(db, "SELECT action FROM audit_log ORDER BY id")[-1] == ("user.unlocked",)


def test_failures_are_clear(db: dict[str, str]) -> None:
    result = sophrosyne("user", "create", "dave", env=db, stdin="")
    assert result.returncode == 1 and "no password on standard input" in result.stderr
    result = sophrosyne("user", "create", "dave", env=db, stdin="short\n")
    assert result.returncode == 1 and "password: the password must be at least 12" in result.stderr
    result = sophrosyne("user", "create", "-bad-", env=db, stdin=PASSWORD)
    assert result.returncode != 0
    result = sophrosyne("user", "create", "Bad Name", env=db, stdin=PASSWORD)
    assert result.returncode == 1 and "username" in result.stderr
    assert PASSWORD not in result.stderr
    result = sophrosyne(
        "user", "create", "dave", "--admin", "--role", "viewer", env=db, stdin=PASSWORD
    )
    assert result.returncode == 2 and "--admin" in result.stderr
    assert sophrosyne("user", "create", "dave", env=db, stdin=PASSWORD).returncode == 0
    result = sophrosyne("user", "create", "DAVE", env=db, stdin=PASSWORD)
    assert result.returncode == 1 and "already exists" in result.stderr
    for command in (["set-role", "nobody", "admin"], ["disable", "nobody"], ["unlock", "nobody"]):
        result = sophrosyne("user", *command, env=db)
        assert result.returncode == 1 and "user 'nobody' not found" in result.stderr
    result = sophrosyne("user", "create", "erin", PASSWORD, env=db, stdin=PASSWORD)
    assert result.returncode == 2  # never from argv
    assert [name for (name,) in rows(db, "SELECT username FROM users")] == ["dave"]
    assert [a for (a,) in rows(db, "SELECT action FROM audit_log")] == ["user.created"]
