"""The target inventory over HTTP: CRUD, write-only credentials, scopes, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.crypto import Secret, generate_key
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.keys import keyring_from
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.metrics import Metrics
from tests.api.helpers import Api, Tokens, loc_of

URL = "/api/v1/targets"
PLAIN = "s3cr3t-Plaintext-4-tests"
KEY = generate_key()


@pytest.fixture
def app(db_url: str, engine: Engine, tmp_path: Path) -> FastAPI:
    """The application with a secret key configured."""
    settings = Settings(data_dir=tmp_path, database_url=db_url, secret_key=KEY)
    return create_app(settings, engine=engine, metrics=Metrics())


def target(name: str = "db-1", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "address": "10.0.0.5",
        "user": "deploy",
        "labels": {"role": "db"},
        **extra,
    }


def audit_rows(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [
            f"{r.action} {r.object_id} {r.detail}"
            for r in conn.execute(text("SELECT action, object_id, detail FROM audit_log"))
        ]


def test_crud(api: Api, engine: Engine) -> None:
    created = api.post(URL, json=target())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["port"] == 22 and body["secrets"] == [] and body["managed_by"] == "api"
    assert api.post(URL, json=target()).status_code == 409
    assert [t["name"] for t in api.get(URL).json()] == ["db-1"]
    assert api.get(f"{URL}/db-1").json()["labels"] == {"role": "db"}
    assert api.get(f"{URL}/nope").status_code == 404

    updated = api.put(f"{URL}/db-1", json=target(port=2222, enabled=False))
    assert updated.status_code == 200, updated.text
    assert (updated.json()["port"], updated.json()["enabled"]) == (2222, False)
    assert api.put(f"{URL}/db-1", json=target("other")).status_code == 409
    assert api.delete(f"{URL}/db-1").status_code == 204
    assert api.get(f"{URL}/db-1").status_code == 404
    actions = [row.split()[0] for row in audit_rows(engine)]
    assert actions == ["target.created", "target.updated", "target.deleted"]


def test_invalid_definitions_name_the_field(api: Api) -> None:
    assert loc_of(api.post(URL, json=target(address="bad host"))) == [["address"]]
    assert loc_of(api.post(URL, json=target(port=0))) == [["port"]]
    assert loc_of(api.post(URL, json=target(host_keys=["nope"]))) == [["host_keys"]]
    assert loc_of(api.post(URL, json=target(password="x"))) == [["password"]]


def test_secrets_are_write_only(api: Api, engine: Engine, app: FastAPI) -> None:
    api.post(URL, json=target())
    replies = [
        api.put(f"{URL}/db-1/secrets/password", json={"value": PLAIN}),
        api.put(f"{URL}/db-1/secrets/ssh_private_key", json={"value": PLAIN + "-key"}),
        api.get(f"{URL}/db-1"),
        api.get(URL),
        api.get("/api/v1/audit"),
        api.put(f"{URL}/db-1", json=target(port=2200)),
    ]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert PLAIN not in reply.text and "v1:" not in reply.text
    assert replies[2].json()["secrets"] == ["password", "ssh_private_key"]
    assert replies[5].json()["secrets"] == ["password", "ssh_private_key"]  # kept on update
    rows = audit_rows(engine)
    assert not any(PLAIN in row for row in rows)
    assert sum(r.startswith("target.secret_set db-1 ") and "password" in r for r in rows) == 1
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT ciphertext FROM target_secrets"))]
    assert len(stored) == 2 and not any(PLAIN in c for c in stored)

    # The worker (not the API) can decrypt them.
    keyring = keyring_from(Settings(secret_key=KEY))
    with sessionmaker(bind=engine)() as session:
        revealed = targets.reveal_secrets(session, keyring, targets.get_by_name(session, "db-1"))
    assert revealed["password"] == Secret(PLAIN)

    cleared = api.delete(f"{URL}/db-1/secrets/password")
    assert cleared.status_code == 200 and cleared.json()["secrets"] == ["ssh_private_key"]
    assert api.delete(f"{URL}/db-1/secrets/password").status_code == 404
    assert "target.secret_cleared" in audit_rows(engine)[-1]


def test_secret_routes_validate(api: Api) -> None:
    api.post(URL, json=target())
    assert api.put(f"{URL}/nope/secrets/password", json={"value": "x"}).status_code == 404
    assert loc_of(api.put(f"{URL}/db-1/secrets/bogus", json={"value": "x"})) == [["path", "kind"]]
    assert loc_of(api.put(f"{URL}/db-1/secrets/password", json={"value": ""})) == [["value"]]
    assert loc_of(api.put(f"{URL}/db-1/secrets/password", json={})) == [["value"]]


def test_scopes(api: Api, tokens: Tokens) -> None:
    assert api.post(URL, json=target()).status_code == 201
    reader, ingester = api.as_(tokens.read), api.as_(tokens.ingest)
    assert reader.get(URL).status_code == 200
    put = reader.put(f"{URL}/db-1/secrets/password", json={"value": PLAIN})
    assert put.status_code == 403
    assert reader.delete(f"{URL}/db-1/secrets/password").status_code == 403
    assert reader.post(URL, json=target("x")).status_code == 403
    assert reader.delete(f"{URL}/db-1").status_code == 403
    assert ingester.get(URL).status_code == 403
    assert ingester.put(f"{URL}/db-1/secrets/password", json={"value": PLAIN}).status_code == 403
    assert api.as_(None).get(URL).status_code == 401


def test_file_managed_targets_are_read_only(
    api: Api, session_factory: sessionmaker[Session]
) -> None:
    from datetime import UTC, datetime

    with session_factory.begin() as session:
        spec = TargetSpec.model_validate(target("from-file"))
        targets.create(
            session, spec, now=datetime.now(UTC), managed_by="file", source_file="t.yaml"
        )
    assert api.put(f"{URL}/from-file", json=target("from-file", port=2)).status_code == 409
    reply = api.delete(f"{URL}/from-file")
    assert reply.status_code == 409 and "read-only" in reply.json()["detail"]
    # Credentials are never in files, so they are set through the API even here.
    put = api.put(f"{URL}/from-file/secrets/password", json={"value": PLAIN})
    assert put.status_code == 200 and put.json()["secrets"] == ["password"]


@pytest.fixture
def keyless(db_url: str, engine: Engine, tmp_path: Path, tokens: Tokens) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    with TestClient(create_app(settings, engine=engine, metrics=Metrics())) as client:
        yield Api(client, tokens.write)


def test_without_a_key_the_server_runs_but_refuses_secrets(keyless: Api) -> None:
    assert keyless.post(URL, json=target()).status_code == 201
    reply = keyless.put(f"{URL}/db-1/secrets/password", json={"value": PLAIN})
    assert reply.status_code == 422
    assert "SOPHROSYNE_SECRET_KEY" in reply.text and PLAIN not in reply.text
    assert keyless.get(f"{URL}/db-1").json()["secrets"] == []
