"""Users through the API (admins only), and the API tokens people make for themselves: scopes
no wider than the role, owner's role applied, disabled owners' tokens refused, expiry policy,
who sees and revokes which tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import Engine, text

from tests.api.conftest import People
from tests.api.helpers import AM_URL, PASSWORD, Api, Browser, Clock, restart_action

USERS = "/api/v1/users"
TOKENS = "/api/v1/tokens"


def _actions(api: Api, object_type: str) -> list[str]:
    items = api.get("/api/v1/audit", params={"object_type": object_type}).json()["items"]
    return [str(e["action"]) for e in reversed(items)]


def test_admins_manage_users(app: FastAPI, api: Api, people: People) -> None:
    root = people.browser("root")
    new = {
        "username": "Carol",
        "display_name": "Carol C.",
        "role": "operator",
        "password": PASSWORD,
    }
    r = root.post(USERS, json=new)
    assert r.status_code == 201, r.text
    carol = r.json()
    assert (carol["username"], carol["role"], carol["must_change_password"]) == (
        "carol",
        "operator",
        True,
    )
    assert PASSWORD not in r.text and "password_hash" not in r.text
    assert root.post(USERS, json=new).status_code == 409
    weak = root.post(USERS, json={**new, "username": "dan", "password": "short"})
    assert weak.status_code == 422 and weak.json()["detail"][0]["loc"] == ["password"]
    listed = [u["username"] for u in root.get(USERS).json()]
    assert listed == ["carol", "olga", "root", "vera"]
    assert root.get(f"{USERS}/CAROL").json()["display_name"] == "Carol C."
    assert root.get(f"{USERS}/nobody").status_code == 404

    r = root.patch(f"{USERS}/carol", json={"role": "viewer", "display_name": "Carol"})
    assert r.status_code == 200 and (r.json()["role"], r.json()["display_name"]) == (
        "viewer",
        "Carol",
    )
    assert root.patch(f"{USERS}/carol", json={"role": "root"}).status_code == 422
    assert root.patch(f"{USERS}/carol", json={"password": "x" * 20}).status_code == 422
    assert root.patch(f"{USERS}/carol", json={"disabled": True}).json()["disabled"] is True
    assert root.patch(f"{USERS}/carol", json={"disabled": False}).json()["disabled"] is False
    r = root.patch(f"{USERS}/root", json={"role": "operator"})
    assert r.status_code == 409 and "last active admin" in r.json()["detail"]
    assert root.patch(f"{USERS}/root", json={"disabled": True}).status_code == 409

    assert _actions(api, "user") == [
        "user.created",
        "user.role_set",
        "user.updated",
        "user.disabled",
        "user.enabled",
    ]
    assert PASSWORD not in str(api.get("/api/v1/audit").json())


def test_disabling_a_user_ends_sessions_and_stops_tokens_at_once(
    app: FastAPI, people: People
) -> None:
    olga = people.browser("olga")
    secret = olga.post(TOKENS, json={"name": "olga-ci", "scopes": ["read"]}).json()["token"]
    token = Api(olga.client, secret)
    assert token.get("/api/v1/runs").status_code == 200  # now remembered by the cache
    root = people.browser("root")
    assert root.patch(f"{USERS}/olga", json={"disabled": True}).status_code == 200
    assert olga.get("/api/v1/auth/me").status_code == 401
    r = token.get("/api/v1/runs")
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    root.patch(f"{USERS}/olga", json={"disabled": False})
    assert token.get("/api/v1/runs").status_code == 200
    assert olga.get("/api/v1/auth/me").status_code == 401  # sessions stay ended


def test_a_change_made_elsewhere_reaches_tokens_within_the_cache_time(
    app: FastAPI, people: People, engine: Engine, clock: Clock
) -> None:
    olga = people.browser("olga")
    secret = olga.post(TOKENS, json={"name": "olga-ci", "scopes": ["write"]}).json()["token"]
    token = Api(olga.client, secret)
    assert token.post("/api/v1/runs/1/cancel").status_code == 404  # may run: gets that far
    with engine.begin() as conn:  # another process demotes olga
        conn.execute(text("UPDATE users SET role = 'viewer' WHERE username = 'olga'"))
    clock.advance(seconds=6)  # past AUTH_CACHE_SECONDS (5)
    r = token.post("/api/v1/runs/1/cancel")
    assert r.status_code == 403 and "'run'" in r.json()["detail"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET disabled = true WHERE username = 'olga'"))
    clock.advance(seconds=6)
    assert token.get("/api/v1/runs").status_code == 401


def test_token_scopes_cannot_be_wider_than_the_role(app: FastAPI, api: Api, people: People) -> None:
    vera = people.browser("vera")
    r = vera.post(TOKENS, json={"name": "vera-ci", "scopes": ["write"]})
    assert r.status_code == 403
    assert "viewer allows tokens with scopes read only" in r.json()["detail"]
    assert vera.post(TOKENS, json={"name": "vera-am", "scopes": ["ingest"]}).status_code == 403
    r = vera.post(TOKENS, json={"name": "vera-ci", "scopes": ["read"]})
    assert r.status_code == 201 and r.json()["owner"] == "vera"
    read = Api(vera.client, r.json()["token"])
    assert read.get("/api/v1/alerts").status_code == 200
    assert read.post(TOKENS, json={"name": "more"}).status_code == 403  # a read token mints none
    denied = api.get("/api/v1/audit", params={"action": "auth.denied"}).json()["items"]
    assert len(denied) == 3 and denied[-1]["detail"]["scopes"] == ["write"]

    olga = people.browser("olga")
    made = {
        scope: olga.post(TOKENS, json={"name": f"olga-{scope}", "scopes": [scope]}).json()
        for scope in ("write", "ingest")
    }
    am = Api(olga.client, made["ingest"]["token"])
    assert am.post(AM_URL, json={}).status_code == 422  # allowed in, payload invalid
    assert am.get("/api/v1/alerts").status_code == 403
    writer = Api(olga.client, made["write"]["token"])
    assert writer.post("/api/v1/actions/x/runs", json={"params": {}}).status_code == 404
    r = writer.post("/api/v1/actions", json=restart_action())
    assert r.status_code == 403 and "'edit_catalog'" in r.json()["detail"]
    assert "owned by 'olga' (role operator)" in r.json()["detail"]


def test_a_users_tokens_expire(app: FastAPI, people: People) -> None:
    vera = people.browser("vera")
    before = datetime.now(UTC)
    made = vera.post(TOKENS, json={"name": "t1", "scopes": ["read"]}).json()
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(days=90) <= expires - before < timedelta(days=90, minutes=1)
    late = (before + timedelta(days=400)).isoformat()
    r = vera.post(TOKENS, json={"name": "t2", "scopes": ["read"], "expires_at": late})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["expires_at"]


def test_who_sees_and_revokes_which_tokens(app: FastAPI, api: Api, people: People) -> None:
    vera, olga, root = people.browser("vera"), people.browser("olga"), people.browser("root")
    vera.post(TOKENS, json={"name": "vera-1", "scopes": ["read"]})
    olga.post(TOKENS, json={"name": "olga-1", "scopes": ["read"]})
    assert [t["name"] for t in vera.get(TOKENS).json()] == ["vera-1"]
    everyone = {t["name"]: t["owner"] for t in root.get(TOKENS).json()}
    assert everyone == {
        "ingester": None,
        "olga-1": "olga",
        "reader": None,
        "vera-1": "vera",
        "writer": None,
    }
    r = vera.post(f"{TOKENS}/olga-1/revoke")
    assert r.status_code == 403 and "manage_tokens" in r.json()["detail"]
    assert vera.post(f"{TOKENS}/writer/revoke").status_code == 403  # service tokens too
    assert vera.post(f"{TOKENS}/vera-1/revoke").json()["revoked_at"] is not None
    assert root.post(f"{TOKENS}/olga-1/revoke").status_code == 200
    assert api.post(f"{TOKENS}/vera-1/revoke").status_code == 200  # a write service token


def test_non_admins_cannot_manage_users(app: FastAPI, people: People) -> None:
    olga = people.browser("olga")
    r = olga.get(USERS)
    assert r.status_code == 403 and "'manage_users'" in r.json()["detail"]
    assert olga.patch(f"{USERS}/olga", json={"role": "admin"}).status_code == 403
    assert Browser(app).login("olga").json()["role"] == "operator"
