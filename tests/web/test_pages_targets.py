"""The target pages on both backends: the inventory and one target show what is set (kinds of
credential, host key fingerprints, recent runs) and never a secret, not even after
credentials were set through the API; file-managed targets are marked read-only."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.crypto import generate_key
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.models import TargetSecret
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.metrics import Metrics
from tests.api.helpers import Api
from tests.web.conftest import Person

KEY = generate_key()
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-unique-7731\n"
PASSWORD = "hunter2-Target-Password-9042"
# An ed25519 public key blob: the algorithm name, length-prefixed, then 32 bytes.
_BLOB = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))
HOST_KEY = "ssh-ed25519 " + base64.b64encode(_BLOB).decode()


@pytest.fixture
def app(
    db_url: str, engine: Engine, tmp_path: Path, enqueued: list[list[int]], metrics: Metrics
) -> FastAPI:
    """The pages' application with a secret key, so credentials can be stored."""
    settings = Settings(data_dir=tmp_path, database_url=db_url, secret_key=KEY)
    return create_app(settings, engine=engine, metrics=metrics, on_enqueue=enqueued.append)


def _fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _add_target(api: Api, name: str = "db-1", **extra: Any) -> None:
    body = {"name": name, "address": "10.0.0.5", "user": "deploy", "labels": {"role": "db"}}
    reply = api.post("/api/v1/targets", json={**body, **extra})
    assert reply.status_code == 201, reply.text


def test_targets_show_credential_kinds_and_fingerprints_never_secrets(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    _add_target(api, host_keys=[HOST_KEY])
    _add_target(api, "web-1", labels={"role": "web"})
    for kind, value in (("ssh_private_key", PRIVATE_KEY), ("password", PASSWORD)):
        reply = api.put(f"/api/v1/targets/db-1/secrets/{kind}", json={"value": value})
        assert reply.status_code == 200, reply.text
    with session_factory() as s:
        ciphertexts = [row.ciphertext for row in s.scalars(select(TargetSecret))]
    assert len(ciphertexts) == 2

    vera: Person = person("vera")  # reading the inventory needs no more than a viewer's role
    listing = vera.get("/targets")
    assert listing.status_code == 200
    assert 'href="/targets/db-1"' in listing.text and 'href="/targets/web-1"' in listing.text
    assert "10.0.0.5:22" in listing.text
    assert "password, ssh_private_key" in listing.text  # the kinds set, sorted

    detail = vera.get("/targets/db-1")
    assert detail.status_code == 200
    assert _fingerprint(_BLOB) in detail.text
    assert base64.b64encode(_BLOB).decode() not in detail.text  # the fingerprint, not the key
    assert "password, ssh_private_key" in detail.text

    root: Person = person("root")
    pages = [
        vera.get("/targets").text,
        vera.get("/targets/db-1").text,
        root.get("/targets/db-1").text,
        root.get("/audit").text,
        root.get("/audit", params={"object_type": "target"}).text,
    ]
    assert "target.secret_set" in pages[3]  # the change is there, with its kind only
    for html in pages:
        assert PASSWORD not in html and "unique-7731" not in html
        for ciphertext in ciphertexts:
            assert ciphertext not in html and ciphertext[:24] not in html
    assert vera.get("/targets/nope").status_code == 404


def test_recent_runs_on_a_target_and_file_managed_ones_are_read_only(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    _add_target(api)
    _add_target(api, "db-2")
    action = {"name": "uptime", "kind": "ssh", "argv": ["uptime"]}
    assert api.post("/api/v1/actions", json=action).status_code == 201
    on_one = api.post("/api/v1/actions/uptime/runs", json={"targets": ["db-1"]})
    on_two = api.post("/api/v1/actions/uptime/runs", json={"targets": ["db-2"]})
    assert on_one.status_code == 201 and on_two.status_code == 201, on_one.text
    with session_factory.begin() as s:
        spec = TargetSpec(name="from-file", address="10.0.0.9")
        targets.create(s, spec, now=datetime.now(UTC), managed_by="file", source_file="t.yaml")

    olga: Person = person("olga")
    page = olga.get("/targets/db-1")
    assert f'href="/runs/{on_one.json()["id"]}"' in page.text
    assert f'href="/runs/{on_two.json()["id"]}"' not in page.text
    assert "No host key is trusted yet" in page.text

    listing = olga.get("/targets")
    assert "file, read-only" in listing.text
    assert listing.text.count("file, read-only") == 1
    file_page = olga.get("/targets/from-file")
    assert "Read-only here" in file_page.text and "t.yaml" in file_page.text
    assert "Read-only here" not in page.text
    assert "<form" not in file_page.text.split("<main", 1)[1]  # nothing to press here


def test_target_labels_are_escaped(api: Api, person: Any) -> None:
    _add_target(api, labels={"note": '<script>alert("x")</script>'})
    vera: Person = person("vera")
    for url in ("/targets", "/targets/db-1"):
        html = vera.get(url).text
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html
