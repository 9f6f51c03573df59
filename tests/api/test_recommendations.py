"""Recommendations through the API: CRUD, sanitised instructions, attachments and refusals."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.metrics import Metrics
from tests.api.helpers import Api, loc_of

LIMIT = 4096
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
URL = "/api/v1/recommendations"


@pytest.fixture
def app(db_url: str, engine: Engine, tmp_path: Path, metrics: Metrics) -> FastAPI:
    settings = Settings(
        data_dir=tmp_path, database_url=db_url, max_body_bytes=64 * 1024, attachment_max_bytes=LIMIT
    )
    return create_app(settings, engine=engine, metrics=metrics)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


def stored_files(store: Path) -> list[str]:
    return sorted(p.name for p in store.iterdir()) if store.is_dir() else []


def spec(name: str = "replace-disk", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "title": "Replace {{ params.device }}",
        "instructions": "## Steps\n\n1. Pull `{{ params.device }}`\n2. [Vendor](https://v.example)",
        "responsible": ["team:storage"],
        "parameters": [{"name": "device", "pattern": "sd[a-z]"}],
        **extra,
    }


def upload(api: Api, name: str, data: bytes, content_type: str, rec: str = "replace-disk") -> Any:
    return api.post(f"{URL}/{rec}/attachments", files={"file": (name, data, content_type)})


def audit_of(api: Api, action: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get("/api/v1/audit", params={"action": action}).json()[
        "items"
    ]
    return items


def test_crud_with_sanitised_html_and_audit(api: Api) -> None:
    r = api.post(URL, json=spec())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["managed_by"] == "api" and body["attachments"] == []
    assert "<h2>Steps</h2>" in body["instructions_html"]
    assert (
        '<a href="https://v.example" rel="noopener noreferrer">Vendor</a>'
        in (body["instructions_html"])
    )
    assert api.post(URL, json=spec()).status_code == 409
    assert [x["name"] for x in api.get(URL).json()] == ["replace-disk"]
    r = api.put(f"{URL}/replace-disk", json=spec(title="Swap {{ params.device }}"))
    assert r.status_code == 200 and r.json()["title"] == "Swap {{ params.device }}"
    assert api.put(f"{URL}/replace-disk", json=spec(name="other")).status_code == 409
    assert ["title"] in loc_of(api.post(URL, json=spec(name="x", title="{{ params.nope }}")))
    assert api.as_(api.token).get(f"{URL}/nope").status_code == 404
    assert api.delete(f"{URL}/replace-disk").status_code == 204
    assert api.get(f"{URL}/replace-disk").status_code == 404
    actions = [e["action"] for e in api.get("/api/v1/audit").json()["items"]]
    assert actions == [
        "recommendation.deleted",
        "recommendation.updated",
        "recommendation.created",
    ]


@pytest.mark.parametrize(
    ("instructions", "fmt", "found"),
    [
        ("Run this <script>fetch('/api/v1/tokens')</script>", "markdown", "<script>"),
        ('<img src="x" onerror="alert(1)">', "html", "onerror="),
        ("[docs](javascript:alert(1))", "markdown", "javascript: URL"),
    ],
)
def test_unsafe_instructions_are_refused_audited_and_nothing_changes(
    api: Api, instructions: str, fmt: str, found: str
) -> None:
    assert api.post(URL, json=spec()).status_code == 201
    bad = spec(instructions=instructions, instructions_format=fmt)
    created = api.post(URL, json=spec(name="evil", **bad_fields(bad)))
    updated = api.put(f"{URL}/replace-disk", json=bad)
    for r in (created, updated):
        assert loc_of(r) == [["instructions"]]
        assert found in r.json()["detail"][0]["msg"]
    assert api.get(f"{URL}/evil").status_code == 404
    assert api.get(f"{URL}/replace-disk").json()["instructions"] == spec()["instructions"]
    refused = audit_of(api, "recommendation.refused")
    assert [e["object_id"] for e in refused] == ["replace-disk", "evil"]
    assert refused[0]["actor"] == "token:writer"
    assert refused[0]["detail"]["errors"][0]["loc"] == "instructions"


def bad_fields(bad: dict[str, Any]) -> dict[str, Any]:
    return {k: bad[k] for k in ("instructions", "instructions_format")}


def test_attachment_upload_and_safe_download(api: Api, store: Path) -> None:
    api.post(URL, json=spec())
    r = upload(api, "disk layout.png", PNG, "image/png")
    assert r.status_code == 201, r.text
    att = r.json()
    digest = hashlib.sha256(PNG).hexdigest()
    assert (att["filename"], att["content_type"], att["size"], att["sha256"]) == (
        "disk layout.png",
        "image/png",
        len(PNG),
        digest,
    )
    assert stored_files(store) == [digest]
    assert (store / digest).read_bytes() == PNG
    listed = api.get(f"{URL}/replace-disk").json()["attachments"]
    assert [a["id"] for a in listed] == [att["id"]]

    got = api.as_(None).get(f"{URL}/replace-disk/attachments/{att['id']}")
    assert got.status_code == 401
    reader = api.get(f"{URL}/replace-disk/attachments/{att['id']}")
    assert reader.status_code == 200 and reader.content == PNG
    headers = reader.headers
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"] == "attachment; filename*=utf-8''disk%20layout.png"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "default-src 'none'; sandbox"

    assert upload(api, "disk layout.png", PNG, "image/png").status_code == 409
    text = upload(api, "notes.txt", "Baie 4 ✓\n".encode(), "text/plain")
    assert text.status_code == 201
    served = api.get(f"{URL}/replace-disk/attachments/{text.json()['id']}")
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert api.get(f"{URL}/replace-disk/attachments/999").status_code == 404


@pytest.mark.parametrize(
    ("filename", "data", "content_type", "field", "words"),
    [
        ("big.txt", b"x" * (LIMIT + 1), "text/plain", "file", "larger than the limit"),
        ("page.html", b"<p>hi</p>", "text/html", "file.filename", ".html files are refused"),
        ("disk.png", HTML, "image/png", "file", "content is HTML, not a PNG image"),
        ("../../etc/cron.d/x.txt", b"* * * * * root id", "text/plain", "file.filename", "path"),
        ("disk.png", PNG, "application/pdf", "file.content_type", "ends in .png"),
    ],
)
def test_refused_attachments_store_nothing_and_are_audited(
    api: Api,
    store: Path,
    filename: str,
    data: bytes,
    content_type: str,
    field: str,
    words: str,
) -> None:
    api.post(URL, json=spec())
    r = upload(api, filename, data, content_type)
    assert r.status_code == 422, r.text
    errors = {".".join(map(str, e["loc"])): e["msg"] for e in r.json()["detail"]}
    assert field in errors and words in errors[field], errors
    assert api.get(f"{URL}/replace-disk").json()["attachments"] == []
    assert stored_files(store) == []
    [entry] = audit_of(api, "recommendation.attachment_refused")
    assert entry["object_id"] == "replace-disk" and entry["actor"] == "token:writer"
    assert entry["detail"]["filename"] == filename
    assert entry["detail"]["content_type"] == content_type
    assert field in [e["loc"] for e in entry["detail"]["errors"]]


def test_a_file_no_attachment_refers_to_is_removed(api: Api, store: Path) -> None:
    api.post(URL, json=spec())
    api.post(URL, json=spec(name="other"))
    first = upload(api, "a.png", PNG, "image/png").json()
    second = upload(api, "b.png", PNG, "image/png", rec="other").json()
    assert stored_files(store) == [first["sha256"]]  # one copy of one content
    assert api.delete(f"{URL}/replace-disk/attachments/{first['id']}").status_code == 204
    assert stored_files(store) == [first["sha256"]]  # "other" still refers to it
    assert api.delete(f"{URL}/replace-disk/attachments/{second['id']}").status_code == 404
    assert api.delete(f"{URL}/other").status_code == 204
    assert stored_files(store) == []
    removed = audit_of(api, "recommendation.attachment_removed")
    assert [e["detail"]["filename"] for e in removed] == ["a.png"]


def test_file_managed_is_read_only_but_takes_attachments(
    api: Api, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        recommendations.create(
            session,
            RecommendationSpec.model_validate(spec()),
            now=datetime.now(UTC),
            managed_by="file",
            source_file="people.yaml",
        )
    r = api.put(f"{URL}/replace-disk", json=spec(title="changed"))
    assert r.status_code == 409 and r.json()["detail"].startswith("read-only:")
    assert api.delete(f"{URL}/replace-disk").status_code == 409
    assert upload(api, "a.png", PNG, "image/png").status_code == 201


def test_scopes(api: Api, tokens: Any) -> None:
    reader = api.as_(tokens.read)
    assert reader.post(URL, json=spec()).status_code == 403
    assert reader.get(URL).status_code == 200
    assert api.as_(tokens.ingest).get(URL).status_code == 403
