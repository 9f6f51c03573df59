"""``sophrosyne key generate | rotate`` and ``target secret set``, run as subprocesses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sophrosyne.crypto import CryptoError, Secret, load_keyring
from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.schemas import TargetSpec
from tests.cli.helpers import migrated_sqlite, rows, sophrosyne

PLAIN = "cli-Secret-value-123"


@pytest.fixture
def db(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite file holding one target, ``db-1``."""
    env = migrated_sqlite(tmp_path)
    engine = make_engine(env["SOPHROSYNE_DATABASE_URL"])
    with make_session_factory(engine).begin() as session:
        targets.create(session, TargetSpec(name="db-1", address="10.0.0.5"), now=datetime.now(UTC))
    engine.dispose()
    return env


def reveal(env: dict[str, str], key: str) -> dict[str, Secret]:
    engine = make_engine(env["SOPHROSYNE_DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            ring = load_keyring(key=key, key_file=None)
            return targets.reveal_secrets(session, ring, targets.get_by_name(session, "db-1"))
    finally:
        engine.dispose()


def new_key(env: dict[str, str]) -> str:
    result = sophrosyne("key", "generate", env=env)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    load_keyring(key=key, key_file=None)  # a valid key
    return key


def test_generate_set_and_rotate(db: dict[str, str]) -> None:
    old, new = new_key(db), new_key(db)
    assert old != new

    result = sophrosyne(
        "target", "secret", "set", "db-1", "password",
        env={**db, "SOPHROSYNE_SECRET_KEY": old}, stdin=PLAIN + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "stored password for target db-1" in result.stdout
    assert PLAIN not in result.stdout + result.stderr
    ((ciphertext,),) = rows(db, "SELECT ciphertext FROM target_secrets")
    assert PLAIN not in str(ciphertext)
    assert reveal(db, old) == {"password": Secret(PLAIN)}

    result = sophrosyne(
        "key", "rotate",
        env={**db, "SOPHROSYNE_SECRET_KEY": new, "SOPHROSYNE_SECRET_OLD_KEYS": old},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("re-encrypted 1 secret with key ")
    assert reveal(db, new) == {"password": Secret(PLAIN)}
    with pytest.raises(CryptoError):
        reveal(db, old)
    audit = rows(db, "SELECT action, detail FROM audit_log ORDER BY id")
    assert [a for a, _ in audit] == ["target.secret_set", "secrets.rotated"]
    assert not any(PLAIN in str(d) for _, d in audit)

    again = sophrosyne("key", "rotate", env={**db, "SOPHROSYNE_SECRET_KEY": new})
    assert again.returncode == 0 and again.stdout.startswith("re-encrypted 0 secrets")


def test_failures_are_clear(db: dict[str, str]) -> None:
    result = sophrosyne("key", "rotate", env=db)
    assert result.returncode == 1 and "SOPHROSYNE_SECRET_KEY" in result.stderr
    result = sophrosyne("target", "secret", "set", "db-1", "password", env=db, stdin=PLAIN)
    assert result.returncode == 1 and "SOPHROSYNE_SECRET_KEY" in result.stderr
    key = new_key(db)
    keyed = {**db, "SOPHROSYNE_SECRET_KEY": key}
    result = sophrosyne("target", "secret", "set", "nope", "password", env=keyed, stdin=PLAIN)
    assert result.returncode == 1 and "target 'nope' not found" in result.stderr
    result = sophrosyne("target", "secret", "set", "db-1", "bogus", env=keyed, stdin=PLAIN)
    assert result.returncode == 1 and "unknown secret kind" in result.stderr
    result = sophrosyne("target", "secret", "set", "db-1", "password", env=keyed, stdin="")
    assert result.returncode == 1 and "no value on standard input" in result.stderr
    # Rotating with a key that cannot read what is stored changes nothing.
    assert (
        sophrosyne("target", "secret", "set", "db-1", "password", env=keyed, stdin=PLAIN).returncode
        == 0
    )
    before = rows(db, "SELECT ciphertext FROM target_secrets")
    result = sophrosyne("key", "rotate", env={**db, "SOPHROSYNE_SECRET_KEY": new_key(db)})
    assert result.returncode == 1 and "SOPHROSYNE_SECRET_OLD_KEYS" in result.stderr
    assert rows(db, "SELECT ciphertext FROM target_secrets") == before
