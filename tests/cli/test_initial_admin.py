"""The first admin, made by ``serve`` at its first start from SOPHROSYNE_INIT_ADMIN_PASSWORD
(or the _FILE variant), only while no user exists."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import typer
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.cli.users import ensure_admin_at_start
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import users
from sophrosyne.domains.audit import service as audit
from tests.cli.helpers import migrated_sqlite
from tests.e2e.procs import SOPHROSYNE, free_port, running, sophrosyne_env, tail, wait_for

SECRET = "first admin passphrase"


def _settings(db_url: str, tmp_path: Path, **kw: object) -> Settings:
    return Settings.model_validate({"data_dir": tmp_path, "database_url": db_url, **kw})


def test_created_once_from_the_setting(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    assert not ensure_admin_at_start(_settings(db_url, tmp_path), session_factory)
    settings = _settings(db_url, tmp_path, init_admin_password=SECRET)
    assert ensure_admin_at_start(settings, session_factory)
    assert not ensure_admin_at_start(settings, session_factory)
    with session_factory() as session:
        [admin] = users.list_all(session)
        assert (admin.username, admin.role, admin.must_change_password) == ("admin", "admin", True)
        users.authenticate(session, "admin", SECRET, now=datetime.now(UTC))
        [entry] = audit.search(session, action="user.created")
        assert (entry.actor, entry.object_id) == ("system:init", "admin")
        assert SECRET not in str(entry.detail)


def test_from_a_file_and_refused_when_weak(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    weak = _settings(db_url, tmp_path, init_admin_password="short")
    with pytest.raises(typer.Exit):
        ensure_admin_at_start(weak, session_factory)
    missing = _settings(db_url, tmp_path, init_admin_password_file=tmp_path / "nope")
    with pytest.raises(typer.Exit):
        ensure_admin_at_start(missing, session_factory)
    secret_file = tmp_path / "admin-password"
    secret_file.write_text(SECRET + "\n")
    settings = _settings(db_url, tmp_path, init_admin_password_file=secret_file)
    assert ensure_admin_at_start(settings, session_factory)
    with session_factory() as session:
        users.authenticate(session, "admin", SECRET, now=datetime.now(UTC))


def test_serve_creates_the_admin_at_start(tmp_path: Path) -> None:
    db = migrated_sqlite(tmp_path)
    port = free_port()
    env = sophrosyne_env(
        db["SOPHROSYNE_DATABASE_URL"],
        tmp_path,
        SOPHROSYNE_INIT_ADMIN_PASSWORD=SECRET,
        SOPHROSYNE_PORT=str(port),
    )
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with running([*SOPHROSYNE, "serve", "--no-worker"], env=env, log=log):
        wait_for(
            lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200,
            timeout=60,
            what=f"serve to answer; log:\n{tail(log)}",
        )
        with httpx.Client(base_url=base) as client:
            r = client.post("/api/v1/auth/login", json={"username": "admin", "password": SECRET})
            assert r.status_code == 200, r.text
            assert r.json()["must_change_password"] is True
            assert client.get("/api/v1/runs").status_code == 403
    assert "auth.initial_admin_created" in log.read_text()
    assert SECRET not in log.read_text()
