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

from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.schemas import Scope, TokenCreate
from sophrosyne.metrics import Metrics
from tests.api.helpers import Api, Tokens, fixture_bytes


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
