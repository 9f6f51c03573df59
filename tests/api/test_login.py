"""Logging in and out through the API: cookie flags, CSRF, lockout that survives refusals,
session expiry, password changes, and the audit of all of it (never with a password)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.domains.accounts import users
from tests.api.conftest import People
from tests.api.helpers import LOGIN_URL, PASSWORD, SESSION_COOKIE, Api, Browser, Clock

ME = "/api/v1/auth/me"
NEW = "a brand new passphrase"


def _audit(api: Api, action: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = api.get("/api/v1/audit", params={"action": action}).json()[
        "items"
    ]
    return items


def _set_cookie(response: object) -> str:
    return response.headers["set-cookie"]  # type: ignore[attr-defined, no-any-return]


def test_login_me_logout(app: FastAPI, api: Api, people: People) -> None:
    browser = Browser(app)
    r = browser.login("OLGA", PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "session" and body["actor"] == "user:olga"
    assert body["user"]["username"] == "olga" and body["role"] == "operator"
    assert "run" in body["permissions"] and "manage_users" not in body["permissions"]
    assert body["csrf_token"] and body["expires_at"]
    assert "password_hash" not in r.text and PASSWORD not in r.text
    cookie = _set_cookie(r)
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = [f.strip().lower() for f in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http, cookie_secure=auto
    assert f"max-age={12 * 3600}" in flags

    me = browser.get(ME)
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "olga"
    assert me.json()["csrf_token"] == body["csrf_token"]
    assert browser.get("/api/v1/runs").status_code == 200

    r = browser.post("/api/v1/auth/logout", csrf=False)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    r = browser.post("/api/v1/auth/logout")
    assert r.status_code == 204
    assert 'sophrosyne_session=""' in _set_cookie(r) or "max-age=0" in _set_cookie(r).lower()
    assert browser.get(ME).status_code == 401

    [login] = _audit(api, "auth.login")
    assert login["actor"] == "user:olga" and login["object_id"] == "olga"
    [logout] = _audit(api, "auth.logout")
    assert logout["actor"] == "user:olga"


def test_a_plain_form_can_log_in(app: FastAPI, people: People) -> None:
    browser = Browser(app)
    r = browser.client.post(
        LOGIN_URL, data={"username": "vera", "password": PASSWORD, "submit": "Log in"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "viewer"
    assert browser.get(ME).status_code == 200


def test_missing_or_malformed_credentials_are_422(app: FastAPI) -> None:
    client = Browser(app).client
    r = client.post(LOGIN_URL, json={})
    assert r.status_code == 422
    assert sorted(e["loc"] for e in r.json()["detail"]) == [["password"], ["username"]]
    r = client.post(LOGIN_URL, content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    r = client.post(LOGIN_URL, data={"username": "vera"})
    assert [e["loc"] for e in r.json()["detail"]] == [["password"]]


def test_failed_logins_look_alike_and_are_audited_without_the_password(
    app: FastAPI, api: Api, people: People
) -> None:
    browser = Browser(app)
    replies = [
        browser.login("nobody", PASSWORD),
        browser.login("vera", "not her password"),
    ]
    assert [r.status_code for r in replies] == [401, 401]
    assert replies[0].json() == replies[1].json() == {"detail": users.LOGIN_FAILED}
    assert "set-cookie" not in replies[1].headers
    failed = _audit(api, "auth.login_failed")
    assert sorted(str(e["object_id"]) for e in failed) == ["nobody", "vera"]
    assert all(e["actor"] == "anonymous" for e in failed)
    assert "not her password" not in str(failed) and PASSWORD not in str(failed)


def test_lockout_through_the_api_survives_the_refusals(
    app: FastAPI, api: Api, people: People, session_factory: sessionmaker[Session]
) -> None:
    browser = Browser(app)
    for i in range(users.MAX_FAILURES):
        assert browser.login("olga", f"wrong password {i}").status_code == 401
    with session_factory() as session:
        olga = users.get_by_username(session, "olga")
        assert olga.failed_logins == users.MAX_FAILURES and olga.locked_until is not None
    # Locked: the right password is refused too, with the same answer.
    r = browser.login("olga", PASSWORD)
    assert r.status_code == 401 and r.json()["detail"] == users.LOGIN_FAILED
    admin = people.browser("root")
    r = admin.post("/api/v1/users/olga/unlock")
    assert r.status_code == 200 and r.json()["failed_logins"] == 0
    assert browser.login("olga", PASSWORD).status_code == 200
    assert len(_audit(api, "auth.login_failed")) == users.MAX_FAILURES + 1
    [unlocked] = _audit(api, "user.unlocked")
    assert unlocked["actor"] == "user:root"
    assert unlocked["detail"] == {"failed_logins": users.MAX_FAILURES, "via": "api"}


def test_login_rotates_the_session(app: FastAPI, people: People) -> None:
    browser = Browser(app)
    browser.login("vera")
    first = browser.client.cookies[SESSION_COOKIE]
    browser.login("vera")
    second = browser.client.cookies[SESSION_COOKIE]
    assert first != second
    stale = Browser(app).adopt(first, "x")
    assert stale.get(ME).status_code == 401
    assert browser.get(ME).status_code == 200


def test_a_login_posted_from_another_site_is_refused(
    app: FastAPI, api: Api, people: People
) -> None:
    client = Browser(app).client
    body = {"username": "vera", "password": PASSWORD}
    r = client.post(LOGIN_URL, json=body, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "another site" in r.json()["detail"]
    assert "set-cookie" not in r.headers
    [refused] = _audit(api, "auth.login_refused")
    assert refused["detail"]["origin"] == "https://evil.example"  # type: ignore[index]
    r = client.post(LOGIN_URL, json=body, headers={"Origin": "http://testserver"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("setting", "base_url", "secure"),
    [
        ("auto", "https://testserver", True),
        ("always", "http://testserver", True),
        ("never", "https://testserver", False),
    ],
)
def test_the_secure_flag_follows_the_setting(
    setting: str,
    base_url: str,
    secure: bool,
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    people: People,
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=db_url, cookie_secure=setting)
    browser = Browser(create_app(settings, engine=engine), base_url=base_url)
    r = browser.login("vera")
    assert r.status_code == 200
    flags = [f.strip().lower() for f in _set_cookie(r).split(";")]
    assert ("secure" in flags) is secure


def test_cookie_changes_need_the_csrf_token(app: FastAPI, api: Api, people: People) -> None:
    olga = people.browser("olga")
    token = {"name": "laptop", "scopes": ["read"]}
    r = olga.post("/api/v1/tokens", json=token, csrf=False)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    r = olga.post("/api/v1/tokens", json=token, headers={"X-CSRF-Token": "guess"})
    assert r.status_code == 403
    assert olga.get("/api/v1/tokens", csrf=False).status_code == 200  # reads need none
    assert olga.post("/api/v1/tokens", json=token).status_code == 201
    # A bearer token needs no CSRF token, even with a session cookie beside it.
    secret = api.post("/api/v1/tokens", json={"name": "svc"}).json()["token"]
    r = olga.post(
        "/api/v1/tokens",
        json={"name": "via-bearer"},
        csrf=False,
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert r.status_code == 201 and r.json()["owner"] is None
    denied = _audit(api, "auth.denied")
    assert len(denied) == 2 and all(e["actor"] == "user:olga" for e in denied)


def test_sessions_end_after_idle_time_and_at_their_lifetime(
    app: FastAPI, clock: Clock, people: People
) -> None:
    browser = Browser(app)
    browser.login("vera")
    clock.advance(minutes=59)
    assert browser.get(ME).status_code == 200  # refreshes the idle timer
    clock.advance(minutes=59)
    assert browser.get(ME).status_code == 200
    clock.advance(minutes=60)
    r = browser.get(ME)
    assert r.status_code == 401 and "inactivity" in r.json()["detail"]

    browser.login("vera")
    for _ in range(23):  # busy all along: every half hour for 11.5 hours
        clock.advance(minutes=30)
        assert browser.get(ME).status_code == 200
    clock.advance(minutes=30)
    r = browser.get(ME)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_must_change_password_first(app: FastAPI, api: Api, people: People) -> None:
    people.add("newbie", "operator", must_change_password=True)
    browser, other = Browser(app), Browser(app)
    assert browser.login("newbie").json()["must_change_password"] is True
    other.login("newbie")
    r = browser.get("/api/v1/alerts")
    assert r.status_code == 403 and "must be changed first" in r.json()["detail"]
    assert browser.get(ME).status_code == 200

    url = "/api/v1/auth/password"
    r = browser.post(url, json={"current_password": "wrong one", "new_password": NEW})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["current_password"]
    r = browser.post(url, json={"current_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["new_password"]
    r = browser.post(url, json={"current_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 200, r.text
    assert r.json()["must_change_password"] is False and r.json()["csrf_token"] == browser.csrf

    assert browser.get("/api/v1/alerts").status_code == 200
    assert other.get(ME).status_code == 401  # the other sessions ended
    assert Browser(app).login("newbie", PASSWORD).status_code == 401
    assert Browser(app).login("newbie", NEW).status_code == 200
    [changed] = _audit(api, "user.password_changed")
    assert changed["actor"] == "user:newbie" and changed["detail"]["sessions_ended"] == 1  # type: ignore[index]
    assert len(_audit(api, "auth.password_change_refused")) == 1
    assert NEW not in str(api.get("/api/v1/audit").json())


def test_tokens_cannot_log_out_or_change_a_password(api: Api) -> None:
    r = api.post("/api/v1/auth/password", json={"current_password": "a", "new_password": "b"})
    assert r.status_code == 403 and "login session" in r.json()["detail"]
    assert api.post("/api/v1/auth/logout").status_code == 403
    me = api.get(ME).json()
    assert (me["kind"], me["token"], me["scopes"], me["user"]) == (
        "token",
        "writer",
        ["write"],
        None,
    )
    assert me["csrf_token"] is None


def test_a_disabled_users_session_stops_at_once(
    app: FastAPI, people: People, engine: Engine
) -> None:
    vera = people.browser("vera")
    assert vera.get(ME).status_code == 200
    with engine.begin() as conn:  # disabled by another process
        conn.execute(text("UPDATE users SET disabled = true WHERE username = 'vera'"))
    r = vera.get(ME)
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
