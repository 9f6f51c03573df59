"""Fixtures for API tests: the real application on each backend, tokens, and a small client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.api import access
from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import passwords, sessions, users
from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.accounts.schemas import Scope, TokenCreate
from sophrosyne.metrics import Metrics
from tests.api.helpers import PASSWORD, Api, Browser, Clock, Tokens, fixture_bytes


@pytest.fixture
def firing_payload() -> bytes:
    return fixture_bytes("alertmanager-webhook.json")


@pytest.fixture
def resolved_payload() -> bytes:
    return fixture_bytes("alertmanager-webhook-resolved.json")


@pytest.fixture
def enqueued() -> list[list[int]]:
    """Every on_enqueue call, in order."""
    return []


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def app(
    db_url: str, engine: Engine, tmp_path: Path, enqueued: list[list[int]], metrics: Metrics
) -> FastAPI:
    settings = Settings(data_dir=tmp_path, database_url=db_url, max_body_bytes=64 * 1024)
    return create_app(settings, engine=engine, metrics=metrics, on_enqueue=enqueued.append)


@pytest.fixture
def tokens(session_factory: sessionmaker[Session]) -> Tokens:
    now = datetime.now(UTC)
    secrets: dict[str, str] = {}
    with session_factory.begin() as session:
        for name, scopes in (
            ("writer", [Scope.WRITE]),
            ("reader", [Scope.READ]),
            ("ingester", [Scope.INGEST]),
        ):
            _, secrets[name] = accounts.create(
                session, TokenCreate(name=name, scopes=scopes), now=now
            )
    return Tokens(write=secrets["writer"], read=secrets["reader"], ingest=secrets["ingester"])


@pytest.fixture
def expired_token(session_factory: sessionmaker[Session]) -> str:
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        _, secret = accounts.create(
            session,
            TokenCreate(name="old", scopes=[Scope.WRITE], expires_at=now - timedelta(minutes=1)),
            now=now - timedelta(days=1),
        )
    return secret


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api(client: TestClient, tokens: Tokens) -> Api:
    return Api(client, tokens.write)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The argon2id hash of ``PASSWORD``, computed once: hashing costs ~100 ms."""
    return passwords.hash_password(PASSWORD)


class People:
    """Users of every role (``root`` admin, ``olga`` operator, ``vera`` viewer), all with
    ``PASSWORD``, and browsers logged in as them without paying for argon2 each time."""

    def __init__(self, app: FastAPI, sessions_: sessionmaker[Session], password_hash: str) -> None:
        self.app = app
        self.sessions = sessions_
        self.password_hash = password_hash
        for name, role in (("root", "admin"), ("olga", "operator"), ("vera", "viewer")):
            self.add(name, role)

    def add(self, name: str, role: str, **kw: object) -> None:
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            session.add(
                User(
                    username=name,
                    display_name=name,
                    role=role,
                    password_hash=self.password_hash,
                    must_change_password=bool(kw.get("must_change_password", False)),
                    failed_logins=0,
                    disabled=False,
                    created_at=now,
                    updated_at=now,
                )
            )

    def browser(self, name: str, base_url: str = "http://testserver") -> Browser:
        state = self.app.state.sophrosyne
        with self.sessions.begin() as session:
            started = sessions.start(
                session,
                users.get_by_username(session, name),
                now=state.clock(),
                lifetime=access.lifetime(state.settings),
                idle=access.idle_timeout(state.settings),
            )
        return Browser(self.app, base_url).adopt(started.session_id, started.row.csrf_token)


@pytest.fixture
def people(app: FastAPI, session_factory: sessionmaker[Session], password_hash: str) -> People:
    return People(app, session_factory, password_hash)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """The application's clock, moved by hand."""
    fake = Clock(datetime.now(UTC))
    app.state.sophrosyne.clock = fake
    return fake
