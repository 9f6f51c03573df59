"""The admin pages on both backends: users, API tokens, the audit log and settings (the kill
switch). Each shows the right data; who may not use one sees no link or button and is refused
(audited) if it posts anyway; changes really change state, through the same flows as the API;
no secret (password hash, token secret or hash) ever appears in a page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.accounts.models import ApiToken, User
from sophrosyne.domains.audit.models import AuditEntry
from tests.api.conftest import People
from tests.api.helpers import Api, Tokens
from tests.api.live import LiveServer, live_server  # noqa: F401 - a fixture
from tests.web.conftest import Person
from tests.web.test_browser import CHROMIUM, browser, log_in, shots  # noqa: F401 - fixtures

ADMIN_LINKS = ('href="/users"', 'href="/settings"')


def _denied(session_factory: sessionmaker[Session]) -> list[AuditEntry]:
    with session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.denied")))


def _entries(session_factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_admin_links_only_for_those_who_may_use_them(person: Any) -> None:
    root: Person = person("root")
    home = root.get("/")
    for link in (*ADMIN_LINKS, 'href="/audit"', 'href="/tokens"', 'href="/targets"'):
        assert link in home.text, link
    for name in ("olga", "vera"):
        who: Person = person(name)
        page = who.get("/")
        for link in ADMIN_LINKS:
            assert link not in page.text, (name, link)
        assert 'href="/tokens"' in page.text and 'href="/audit"' in page.text
        assert who.get("/users").status_code == 403
        assert who.get("/settings").status_code == 403
    for url in ("/users", "/settings", "/tokens", "/audit", "/targets", "/silences"):
        r = root.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "no-store"
        assert " style=" not in r.text and "<script>" not in r.text


def test_users_create_with_policy_errors_change_role_disable_enable_unlock(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    root: Person = person("root")
    page = root.get("/users")
    assert page.status_code == 200
    for name in ("root", "olga", "vera"):
        assert f'id="user-{name}"' in page.text

    weak = root.post(
        "/users", {"username": "nina", "role": "operator", "password": "short", "email": ""}
    )
    assert weak.status_code == 422
    error = re.search(r'id="password-error">([^<]*)<', weak.text)
    assert error and "password" in error.group(1)
    assert 'value="nina"' in weak.text  # the rest of the form is kept; the password is not
    assert 'value="short"' not in weak.text
    bad_name = root.post("/users", {"username": "Not A Name!", "password": "x" * 20})
    assert bad_name.status_code == 422 and 'id="username-error"' in bad_name.text

    made = root.post(
        "/users",
        [
            ("username", "nina"),
            ("display_name", "Nina <b>N</b>"),
            ("role", "operator"),
            ("password", "a long enough pass phrase 77"),
            ("must_change_password", "false"),
            ("must_change_password", "true"),
        ],
    )
    assert made.status_code == 303 and made.headers["location"] == "/users?done=user_created"
    taken = root.post("/users", {"username": "nina", "password": "another long pass phrase 8"})
    assert taken.status_code == 409 and 'id="username-error"' in taken.text
    nina = api.get("/api/v1/users/nina").json()
    assert nina["role"] == "operator" and nina["must_change_password"] is True
    listing = root.get("/users?done=user_created")
    assert "User created." in listing.text
    assert "Nina &lt;b&gt;N&lt;/b&gt;" in listing.text and "<b>N</b>" not in listing.text

    assert root.post("/users/nina/role", {"role": "viewer"}).status_code == 303
    assert api.get("/api/v1/users/nina").json()["role"] == "viewer"
    assert root.post("/users/nina/role", {"role": "emperor"}).status_code == 422
    assert root.post("/users/nina/disable").status_code == 303
    assert api.get("/api/v1/users/nina").json()["disabled"] is True
    assert "/users/nina/enable" in root.get("/users").text
    assert root.post("/users/nina/enable").status_code == 303
    assert api.get("/api/v1/users/nina").json()["disabled"] is False
    with session_factory.begin() as s:
        user = s.scalars(select(User).where(User.username == "nina")).one()
        user.failed_logins = 7
    assert "/users/nina/unlock" in root.get("/users").text
    assert root.post("/users/nina/unlock").status_code == 303
    assert api.get("/api/v1/users/nina").json()["failed_logins"] == 0
    assert root.post("/users/root/disable").status_code == 409  # the last active admin
    assert root.post("/users/ghost/disable").status_code == 404

    actions = [
        (e.action, e.actor, e.detail.get("via"))
        for e in _entries(session_factory, "user.created")
        + _entries(session_factory, "user.role_set")
        + _entries(session_factory, "user.disabled")
        + _entries(session_factory, "user.enabled")
        + _entries(session_factory, "user.unlocked")
    ]
    assert sorted(actions) == sorted(
        [
            ("user.created", "user:root", "web"),
            ("user.role_set", "user:root", "web"),
            ("user.disabled", "user:root", "web"),
            ("user.enabled", "user:root", "web"),
            ("user.unlocked", "user:root", "web"),
        ]
    )
    with session_factory() as s:
        hashes = [u.password_hash for u in s.scalars(select(User))]
    html = root.get("/users").text + root.get("/audit").text
    for h in hashes:
        assert h not in html and h.split("$")[-1] not in html
    assert "a long enough pass phrase 77" not in html


def test_who_may_not_manage_users_or_the_kill_switch_is_refused_and_audited(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    for name in ("olga", "vera"):
        who: Person = person(name)
        who.get("/")
        for url, form in (
            ("/users", {"username": "mallory", "password": "a long enough pass phrase 77"}),
            ("/users/vera/role", {"role": "admin"}),
            ("/users/root/disable", {}),
            ("/users/root/unlock", {}),
            ("/settings/pause", {"reason": "because"}),
            ("/settings/resume", {}),
        ):
            refused = who.post(url, form)
            assert refused.status_code == 403, (name, url)
            assert "permission" in refused.text
    assert len(_denied(session_factory)) == 12
    assert api.get("/api/v1/users/mallory").status_code == 404
    assert api.get("/api/v1/users/vera").json()["role"] == "viewer"
    assert api.get("/api/v1/automation").json()["paused"] is False

    root: Person = person("root")
    root.get("/users")
    no_csrf = root.post("/users/vera/role", {"role": "admin"}, csrf=False)
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    no_csrf = root.post("/settings/pause", {"reason": "x"}, csrf=False)
    assert no_csrf.status_code == 403
    assert api.get("/api/v1/users/vera").json()["role"] == "viewer"
    assert api.get("/api/v1/automation").json()["paused"] is False
    assert len(_denied(session_factory)) == 14


def test_tokens_secret_shown_once_revoke_and_scopes_limited_by_role(
    api: Api, person: Any, tokens: Tokens, session_factory: sessionmaker[Session]
) -> None:
    vera: Person = person("vera")
    page = vera.get("/tokens")
    assert page.status_code == 200 and "No token yet." in page.text
    # A viewer may only make read tokens: no other scope is offered ...
    assert 'name="scopes" value="read"' in page.text
    assert 'value="write"' not in page.text
    # ... and one asked for anyway is refused and audited, before anything is stored.
    wide = vera.post("/tokens", [("name", "ci"), ("scopes", "write")])
    assert wide.status_code == 403
    assert _denied(session_factory)[-1].detail["scopes"] == ["write"]
    no_scope = vera.post("/tokens", {"name": "ci", "expires_days": "0"})
    assert no_scope.status_code == 422
    assert 'id="scopes-error"' in no_scope.text and 'id="expires_days-error"' in no_scope.text
    too_long = vera.post("/tokens", [("name", "ci"), ("scopes", "read"), ("expires_days", "999")])
    assert too_long.status_code == 422 and "365 days at most" in too_long.text

    made = vera.post("/tokens", [("name", "ci <x>"), ("scopes", "read"), ("expires_days", "30")])
    assert made.status_code == 200
    found = re.search(r'id="token-secret">([^<]+)<', made.text)
    assert found
    secret = found.group(1).strip()
    assert "shown this once" in made.text and "ci &lt;x&gt;" in made.text
    # The secret works, as vera, with read only.
    me = api.as_(secret).get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["actor"] == "token:ci <x>"
    assert api.as_(secret).post("/api/v1/actions", json={}).status_code == 403
    again = vera.post("/tokens", [("name", "ci <x>"), ("scopes", "read")])
    assert again.status_code == 422 and 'id="name-error"' in again.text

    with session_factory() as s:
        stored = s.scalars(select(ApiToken).where(ApiToken.name == "ci <x>")).one()
        token_hash = stored.token_hash
    listing = vera.get("/tokens")
    assert "ci &lt;x&gt;" in listing.text and stored.prefix in listing.text
    assert "writer" not in listing.text  # someone else's token is not hers to see
    root: Person = person("root")
    everyone = root.get("/tokens")
    assert "writer" in everyone.text and "ci &lt;x&gt;" in everyone.text
    later = [vera.get("/tokens").text, everyone.text, root.get("/audit").text]
    for html in later:
        assert secret not in html and token_hash not in html
    assert tokens.write not in everyone.text

    # vera may not revoke another's token: refused and audited; root may.
    refused = vera.post("/tokens/revoke", {"name": "writer"})
    assert refused.status_code == 403 and "manage_tokens" in refused.text
    assert _denied(session_factory)[-1].detail["token"] == "writer"
    assert api.get("/api/v1/auth/me").status_code == 200
    revoked = vera.post("/tokens/revoke", {"name": "ci <x>"})
    assert (
        revoked.status_code == 303 and revoked.headers["location"] == "/tokens?done=token_revoked"
    )
    assert api.as_(secret).get("/api/v1/auth/me").status_code == 401
    assert "Token revoked." in vera.get("/tokens?done=token_revoked").text
    assert root.post("/tokens/revoke", {"name": "reader"}).status_code == 303
    assert api.as_(tokens.read).get("/api/v1/auth/me").status_code == 401
    assert [e.detail["via"] for e in _entries(session_factory, "token.revoked")] == ["web", "web"]
    no_csrf = root.post("/tokens/revoke", {"name": "writer"}, csrf=False)
    assert no_csrf.status_code == 403
    assert api.get("/api/v1/auth/me").status_code == 200


def test_audit_log_filters_pages_and_escapes(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    root: Person = person("root")
    root.get("/settings")
    assert (
        root.post("/settings/pause", {"reason": '<img src=x onerror="1"> maintenance'}).status_code
        == 303
    )
    assert root.post("/settings/resume").status_code == 303
    for i in range(55):
        action = {"name": f"a{i:02d}", "argv": ["/bin/true"]}
        assert api.post("/api/v1/actions", json=action).status_code == 201

    vera: Person = person("vera")  # the audit log is readable with the read permission
    first = vera.get("/audit")
    assert first.status_code == 200
    ids = [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", first.text)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert older
    second = vera.get(older.group(1).replace("&amp;", "&"))
    more = [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", second.text)]
    assert more and max(more) < min(ids)

    paused = vera.get("/audit", params={"action": "automation.paused", "actor": "user:root"})
    assert paused.text.count("automation.paused</code>") == 1
    assert "&lt;img src=x" in paused.text and "<img src=x" not in paused.text
    assert "&#34;reason&#34;" in paused.text or "&quot;reason&quot;" in paused.text  # JSON
    assert "\n  " in paused.text.split('class="detail">', 1)[1]  # indented
    assert "a00" not in paused.text
    by_kind = vera.get("/audit", params={"object_type": "automation"})
    assert by_kind.text.count("<tr>") == 1 + 2  # the header and two entries
    nobody = vera.get("/audit", params={"actor": "user:nobody"})
    assert "No entry matches." in nobody.text
    future = vera.get("/audit", params={"from": "2999-01-01T00:00"})
    assert "No entry matches." in future.text
    past = vera.get("/audit", params={"to": "2000-01-01T00:00"})
    assert "No entry matches." in past.text
    window = vera.get("/audit", params={"from": "2000-01-01T00:00", "to": "2999-01-01T00:00"})
    assert len(re.findall(r"<tr>\s*<td>\d+</td>", window.text)) == 50
    bad = vera.get("/audit", params={"from": "yesterday"})
    assert bad.status_code == 422 and 'id="from-error"' in bad.text
    backwards = vera.get("/audit", params={"from": "2026-02-01T00:00", "to": "2026-01-01T00:00"})
    assert backwards.status_code == 422 and 'id="to-error"' in backwards.text


def test_kill_switch_pause_needs_a_reason_then_resume(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    root: Person = person("root")
    page = root.get("/settings")
    assert page.status_code == 200
    assert "running" in page.text and "Pause automation" in page.text
    assert "Resume automation" not in page.text
    assert "token_max_days" in page.text and "worker_slots" in page.text
    assert "secret_key" in page.text and "database_url" not in page.text

    empty = root.post("/settings/pause", {"reason": "   "})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.text
    assert api.get("/api/v1/automation").json()["paused"] is False

    paused = root.post("/settings/pause", {"reason": "db migration <tonight>"})
    assert paused.status_code == 303 and paused.headers["location"] == "/settings?done=paused"
    state = api.get("/api/v1/automation").json()
    assert state == {
        "paused": True,
        "reason": "db migration <tonight>",
        "by": "user:root",
        "since": state["since"],
    }
    shown = root.get("/settings?done=paused")
    assert "db migration &lt;tonight&gt;" in shown.text and "user:root" in shown.text
    assert "Resume automation" in shown.text and "Pause automation" not in shown.text

    assert root.post("/settings/resume").status_code == 303
    assert api.get("/api/v1/automation").json()["paused"] is False
    [entry_paused] = _entries(session_factory, "automation.paused")
    [entry_resumed] = _entries(session_factory, "automation.resumed")
    assert entry_paused.detail["via"] == "web" and entry_paused.actor == "user:root"
    assert entry_resumed.detail["changed"] is True


def test_settings_never_show_secrets(
    person: Any, app: Any, session_factory: sessionmaker[Session]
) -> None:
    settings = app.state.sophrosyne.settings
    secret_url = "postgresql://admin:S3cretDbPass@db.example/sophrosyne"
    original = (settings.database_url, settings.public_url)
    settings.database_url = secret_url
    settings.public_url = "https://user:UrlPassw0rd@sophrosyne.example"
    try:
        html = person("root").get("/settings").text
    finally:
        settings.database_url, settings.public_url = original
    assert "S3cretDbPass" not in html and "UrlPassw0rd" not in html and "admin:" not in html
    assert "https://sophrosyne.example" in html and "postgresql" in html


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_admin_pages_in_a_real_browser(
    live_server: LiveServer,  # noqa: F811
    people: People,
    browser: Browser,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    """Every new page loads without a console error (a CSP violation would be one), the Admin
    menu opens without JavaScript tricks, and a token is made through the form."""
    url = live_server.url
    with live_server.client(live_server.tokens.write) as api:
        target = {"name": "db-1", "address": "10.0.0.5", "labels": {"role": "db"}}
        assert api.post("/api/v1/targets", json=target).status_code == 201
        ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        silence = {"matchers": ['team="db"'], "comment": "upgrade", "ends_at": ends}
        assert api.post("/api/v1/silences", json=silence).status_code == 201
    context = browser.new_context()
    problems: list[str] = []
    page = log_in(context, url, "root")
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    for path in ("/targets", "/targets/db-1", "/silences", "/tokens", "/audit", "/users"):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"admin{path.replace('/', '-')}.png"), full_page=True)
    page.goto(url + "/settings")
    page.click("nav summary:has-text('Admin')")
    expect(page.locator("nav .navmenu a[href='/users']")).to_be_visible()
    page.screenshot(path=str(shots / "admin-settings.png"), full_page=True)

    page.goto(url + "/tokens")
    page.fill("#name", "from-the-browser")
    page.click("#new-token button[type=submit]")
    secret = page.locator("#token-secret").inner_text().strip()
    assert len(secret) > 20
    page.screenshot(path=str(shots / "admin-token-created.png"), full_page=True)
    page.goto(url + "/tokens")
    assert secret not in page.content()
    with live_server.client(secret) as as_token:
        assert as_token.get("/api/v1/auth/me").json()["actor"] == "token:from-the-browser"
    assert problems == []
