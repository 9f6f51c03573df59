"""Probes, metrics and the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.db.engine import make_engine
from tests.api.helpers import AM_URL, Api, restart_action


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "reason": None}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_readyz_is_503_before_migrations(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)  # a new, empty SQLite database
    with TestClient(create_app(settings)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert "migration" in r.json()["reason"]
        assert c.get("/healthz").status_code == 200


def test_readyz_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    engine = make_engine(url)
    (tmp_path / "missing-dir").rmdir()  # the file cannot be created any more
    with TestClient(create_app(Settings(data_dir=tmp_path, database_url=url), engine=engine)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and "database" in r.json()["reason"]
    engine.dispose()


def test_metrics(api: Api, firing_payload: bytes, client: TestClient) -> None:
    api.post_raw(AM_URL, firing_payload)
    api.post("/api/v1/actions", json=restart_action())
    api.post("/api/v1/actions/restart/runs", json={"params": {"service": "web"}})
    api.post_raw(AM_URL, b"{")
    r = client.get("/metrics")  # no token needed
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert 'sophrosyne_alerts_received_total{source="alertmanager",status="firing"} 2.0' in body
    assert 'sophrosyne_ingest_rejected_total{source="alertmanager"} 1.0' in body
    assert "sophrosyne_queue_depth 1.0" in body
    assert 'sophrosyne_runs{state="queued"} 1.0' in body
    assert 'sophrosyne_runs{state="succeeded"} 0.0' in body


def test_openapi_lists_the_routes(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/alerts/alertmanager", "post"),
        ("/api/v1/alerts", "post"),
        ("/api/v1/alerts", "get"),
        ("/api/v1/alerts/{alert_id}", "get"),
        ("/api/v1/actions", "post"),
        ("/api/v1/actions/{name}", "put"),
        ("/api/v1/actions/{name}", "delete"),
        ("/api/v1/actions/{name}/runs", "post"),
        ("/api/v1/rules", "get"),
        ("/api/v1/runs/{run_id}/cancel", "post"),
        ("/api/v1/audit", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{name}/revoke", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ]:
        assert method in paths.get(path, {}), (method, path)
    am = paths["/api/v1/alerts/alertmanager"]["post"]
    schema_ref = am["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref == "#/components/schemas/AlertmanagerPayload"
    schemas = doc["components"]["schemas"]
    assert {"AlertmanagerPayload", "AlertmanagerAlert", "GenericAlert"} <= set(schemas)
    assert "all-or-nothing" in paths["/api/v1/alerts"]["post"]["description"]
    assert "token_hash" not in str(doc)


def test_docs_page_works_air_gapped(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    # Every script, stylesheet and icon comes from this server, none from a CDN.
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert refs, page.text
    assert all(r.startswith("/") for r in refs), refs
    for ref in refs:
        assert client.get(ref).status_code == 200, ref
    assert "url: '/openapi.json'" in page.text or '"/openapi.json"' in page.text


def test_nothing_happens_at_import_or_creation(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings)
    # No migration ran: the database has no tables.
    state = app.state.sophrosyne
    with state.engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).all()
    assert tables == []
    state.engine.dispose()
