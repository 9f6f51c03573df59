"""Bearer tokens and scopes; token management never leaks hashes. (Every route, walked
from the application, is in test_route_permissions.)"""

from __future__ import annotations

from tests.api.helpers import AM_URL, Api, Tokens, restart_action

GENERIC_URL = "/api/v1/alerts"
ALERT = {"labels": {"alertname": "Down"}}

#: (method, path, body) of routes that are neither ingest nor unauthenticated.
READ_ROUTES = [
    ("GET", "/api/v1/alerts", None),
    ("GET", "/api/v1/alerts/1", None),
    ("GET", "/api/v1/actions", None),
    ("GET", "/api/v1/actions/restart", None),
    ("GET", "/api/v1/rules", None),
    ("GET", "/api/v1/rules/r", None),
    ("GET", "/api/v1/runs", None),
    ("GET", "/api/v1/runs/1", None),
    ("GET", "/api/v1/audit", None),
]
WRITE_ROUTES = [
    ("POST", "/api/v1/actions", restart_action()),
    ("PUT", "/api/v1/actions/restart", restart_action()),
    ("DELETE", "/api/v1/actions/restart", None),
    ("POST", "/api/v1/actions/restart/runs", {"params": {"service": "a"}}),
    ("POST", "/api/v1/rules", {"name": "r", "action": "restart"}),
    ("PUT", "/api/v1/rules/r", {"name": "r", "action": "restart"}),
    ("DELETE", "/api/v1/rules/r", None),
    ("POST", "/api/v1/runs/1/cancel", None),
    ("GET", "/api/v1/tokens", None),
    ("POST", "/api/v1/tokens", {"name": "x"}),
    ("POST", "/api/v1/tokens/reader/revoke", None),
]


def _call(api: Api, method: str, path: str, body: object) -> int:
    return api.request(method, path, json=body).status_code


def test_without_or_with_a_bad_token_is_401(api: Api) -> None:
    for method, path, body in READ_ROUTES + WRITE_ROUTES:
        r = api.as_(None).request(method, path, json=body)
        assert r.status_code == 401, (method, path)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert _call(api.as_("sph_not-a-real-token"), method, path, body) == 401
        basic = {"Authorization": "Basic dXNlcjpwYXNz"}
        assert api.as_(None).request(method, path, json=body, headers=basic).status_code == 401


def test_ingest_routes_need_a_token(api: Api, firing_payload: bytes) -> None:
    assert api.as_(None).post_raw(AM_URL, firing_payload).status_code == 401
    assert api.as_("sph_wrong").post(GENERIC_URL, json=ALERT).status_code == 401


def test_ingest_token_is_refused_outside_ingest(api: Api, tokens: Tokens) -> None:
    for method, path, body in READ_ROUTES + WRITE_ROUTES:
        r = api.as_(tokens.ingest).request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert "scope" in r.json()["detail"]


def test_ingest_token_is_accepted_on_both_ingest_routes(
    api: Api, tokens: Tokens, firing_payload: bytes
) -> None:
    ingest = api.as_(tokens.ingest)
    assert ingest.post_raw(AM_URL, firing_payload).status_code == 200
    assert ingest.post(GENERIC_URL, json=ALERT).status_code == 200
    entries = api.get("/api/v1/audit", params={"actor": "token:ingester"}).json()["items"]
    assert len(entries) == 2


def test_read_token_reads_but_cannot_write(api: Api, tokens: Tokens) -> None:
    reader = api.as_(tokens.read)
    assert reader.get("/api/v1/alerts").status_code == 200
    assert reader.get("/api/v1/audit").status_code == 200
    for method, path, body in WRITE_ROUTES:
        assert _call(reader, method, path, body) == 403, (method, path)
    assert reader.post(GENERIC_URL, json=ALERT).status_code == 403
    assert api.as_(tokens.read).post_raw(AM_URL, b"{}").status_code == 403


def test_revoked_and_expired_tokens_are_401(api: Api, expired_token: str) -> None:
    assert api.as_(expired_token).get("/api/v1/alerts").status_code == 401
    created = api.post("/api/v1/tokens", json={"name": "ci", "scopes": ["read"]}).json()
    ci = api.as_(created["token"])
    assert ci.get("/api/v1/alerts").status_code == 200
    r = api.post("/api/v1/tokens/ci/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    r = ci.get("/api/v1/alerts")
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_token_management(api: Api) -> None:
    r = api.post(
        "/api/v1/tokens",
        json={"name": "am", "scopes": ["ingest"], "expires_at": "2999-01-01T00:00:00"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["token"].startswith("sph_")
    assert created["token"].startswith(created["prefix"])
    assert created["scopes"] == ["ingest"]
    assert created["expires_at"].startswith("2999-01-01T00:00:00")
    assert "token_hash" not in created
    assert api.post("/api/v1/tokens", json={"name": "am"}).status_code == 409
    assert api.post("/api/v1/tokens/none/revoke").status_code == 404

    listed = api.get("/api/v1/tokens")
    assert [t["name"] for t in listed.json()] == ["am", "ingester", "reader", "writer"]
    assert "token_hash" not in listed.text and created["token"] not in listed.text
    assert all("token" not in t for t in listed.json())

    audit = api.get("/api/v1/audit", params={"object_type": "token"}).json()["items"]
    assert [e["action"] for e in audit] == ["token.created"]
    assert created["token"] not in str(audit)
    assert audit[0]["detail"]["scopes"] == ["ingest"]


def test_revoking_through_the_api_takes_effect_at_once_despite_the_cache(api: Api) -> None:
    made = api.post("/api/v1/tokens", json={"name": "short-lived", "scopes": ["read"]})
    secret = made.json()["token"]
    reader = api.as_(secret)
    assert reader.get("/api/v1/runs").status_code == 200  # now remembered by this process
    assert api.post("/api/v1/tokens/short-lived/revoke").status_code == 200
    assert reader.get("/api/v1/runs").status_code == 401
