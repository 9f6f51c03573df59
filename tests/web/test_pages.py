"""The pages through HTTP on both backends: login, CSRF, what each role sees and may do, the
run form's errors next to its fields, approving with the pin, and the security headers."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.audit.models import AuditEntry
from sophrosyne.domains.runs.models import Run
from tests.api.conftest import People
from tests.api.helpers import PASSWORD, Api
from tests.web.conftest import Person, add_action

ALERT = {
    "labels": {"alertname": "ServiceDown", "service": "checkout", "instance": "web1"},
    "annotations": {"summary": "checkout answers 503"},
    "severity": "critical",
}


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'id="param-{name}-error"[^>]*>([^<]*)<', html)
    assert found, f"no error next to {name}"
    return found.group(1)


def test_login_with_the_form_then_logout(app: FastAPI, people: People) -> None:
    anon = Person(app)
    r = anon.get("/alerts?status=firing")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/alerts%3Fstatus%3Dfiring"
    page = anon.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text

    wrong = anon.post(
        "/login", {"username": "olga", "password": "nope", "next": "/alerts"}, csrf=False
    )
    assert wrong.status_code == 401
    assert "sophrosyne_session" not in wrong.headers.get("set-cookie", "")
    assert 'value="olga"' in wrong.text  # the username is kept, the password never

    ok = anon.post(
        "/login", {"username": "olga", "password": PASSWORD, "next": "/alerts"}, csrf=False
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/alerts"
    assert "httponly" in ok.headers["set-cookie"].lower()
    home = anon.get("/")
    assert home.status_code == 200 and "olga" in home.text and "Dashboard" in home.text

    out = anon.post("/logout")
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    assert anon.get("/").status_code == 303


def test_login_never_redirects_to_another_site(app: FastAPI, people: People) -> None:
    anon = Person(app)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = anon.post(
            "/login", {"username": "olga", "password": PASSWORD, "next": target}, csrf=False
        )
        assert r.status_code == 303 and r.headers["location"] == "/", target


def test_a_form_without_the_csrf_token_is_refused_and_audited(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    add_action(api)
    olga: Person = person("olga")
    olga.get("/actions/restart")
    refused = olga.post("/actions/restart/run", {"param.service": "checkout"}, csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = olga.post(
        "/actions/restart/run",
        [("param.service", "checkout"), ("csrf_token", "x" * 43)],
        csrf=False,
    )
    assert forged.status_code == 403
    logout = olga.post("/logout", csrf=False)
    assert logout.status_code == 403  # a forged logout is a change too
    with session_factory() as s:
        assert s.scalars(select(Run)).all() == []
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.denied")).all()
    assert len(denied) == 3


def test_a_viewer_sees_no_buttons_it_may_not_press_and_is_refused(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    add_action(api, approval={"manual": "always"})
    started = api.post("/api/v1/actions/restart/runs", json={"params": {"service": "web"}})
    run_id = started.json()["id"]
    assert started.json()["state"] == "awaiting_confirmation"

    vera: Person = person("vera")
    action_page = vera.get("/actions/restart")
    assert action_page.status_code == 200
    assert "/actions/restart/run" not in action_page.text and "Run restart" not in action_page.text
    queue = vera.get("/confirmations")
    assert queue.status_code == 200 and f"Run #{run_id}" in queue.text
    assert "Approve" not in queue.text and "Reject" not in queue.text
    run_page = vera.get(f"/runs/{run_id}")
    assert "Cancel run" not in run_page.text

    for url, form in (
        ("/actions/restart/run", {"param.service": "web"}),
        (f"/runs/{run_id}/approve", {"pin": "0" * 64}),
        (f"/runs/{run_id}/reject", {"reason": "no"}),
        (f"/runs/{run_id}/cancel", {}),
    ):
        refused = vera.post(url, form)
        assert refused.status_code == 403, url
        assert "permission" in refused.text
    with session_factory() as s:
        assert [r.state for r in s.scalars(select(Run))] == ["awaiting_confirmation"]

    olga: Person = person("olga")
    assert "Run restart" in olga.get("/actions/restart").text
    assert "Cancel run" in olga.get(f"/runs/{run_id}").text


def test_the_run_form_shows_each_error_next_to_its_field(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    add_action(api)
    olga: Person = person("olga")
    form = olga.get("/actions/restart")
    # Generated from the parameter types.
    assert 'name="param.service" type="text"' in form.text
    assert 'name="param.count" type="number"' in form.text and 'min="1"' in form.text
    assert 'type="checkbox" id="param-force"' in form.text
    assert '<option value="hard"' in form.text

    bad = olga.post(
        "/actions/restart/run",
        [("param.service", "Bad Name!"), ("param.count", "9"), ("param.mode", "soft")],
    )
    assert bad.status_code == 422
    assert "does not match the pattern" in _field_error(bad.text, "service")
    assert "at most 5" in _field_error(bad.text, "count")
    assert 'value="Bad Name!"' in bad.text  # what was typed stays in the field
    missing = olga.post("/actions/restart/run", [("param.service", "")])
    assert "is required" in _field_error(missing.text, "service")
    with session_factory() as s:
        assert s.scalars(select(Run)).all() == []

    good = olga.post(
        "/actions/restart/run",
        [
            ("param.service", "checkout"),
            ("param.count", "2"),
            ("param.force", "false"),
            ("param.force", "true"),
        ],
    )
    assert good.status_code == 303
    run_id = int(good.headers["location"].rsplit("/", 1)[1])
    with session_factory() as s:
        run = s.get(Run, run_id)
        assert run is not None
        assert run.params == {"service": "checkout", "count": 2, "force": True, "mode": "soft"}
        assert run.requested_by == "user:olga"
    page = olga.get(f"/runs/{run_id}")
    assert page.status_code == 200 and "checkout" in page.text
    assert f'data-stream="/api/v1/runs/{run_id}/stream"' in page.text


def test_alerts_list_filters_and_detail_explains(api: Api, person: Any) -> None:
    add_action(api)
    rule = {
        "name": "restart-down",
        "matchers": ['alertname="ServiceDown"'],
        "action": "restart",
        "parameters": {"service": "{{ labels.service }}"},
        "mode": "confirm",
    }
    assert api.post("/api/v1/rules", json=rule).status_code == 201
    assert api.post("/api/v1/alerts", json=ALERT).status_code in (200, 202)
    other = {"labels": {"alertname": "DiskFull", "instance": "db1"}, "severity": "warning"}
    assert api.post("/api/v1/alerts", json=other).status_code in (200, 202)

    olga: Person = person("olga")
    listing = olga.get("/alerts", params={"status": "firing", "matcher": 'service="checkout"'})
    assert listing.status_code == 200
    assert "ServiceDown" in listing.text and "DiskFull" not in listing.text
    wrong = olga.get("/alerts", params={"matcher": 'service=~"("'})
    assert wrong.status_code == 422 and 'id="matcher-error"' in wrong.text
    regex = olga.get("/alerts", params={"matcher": 'service=~"c[a-z]{1,9}", severity!="x"'})
    assert regex.status_code == 200 and "ServiceDown" in regex.text
    alert_id = int(re.findall(r'href="/alerts/(\d+)"', listing.text)[0])

    detail = olga.get(f"/alerts/{alert_id}")
    assert detail.status_code == 200
    assert "checkout answers 503" in detail.text
    assert "rule:restart-down" in detail.text and "awaiting confirmation" in detail.text
    assert f'href="/actions/restart?alert_id={alert_id}#run"' in detail.text
    prefilled = olga.get(f"/actions/restart?alert_id={alert_id}")
    assert 'name="param.service" type="text" value="checkout"' in prefilled.text
    assert olga.get("/alerts/999999").status_code == 404


def test_approving_with_the_pin_queues_the_run_and_rejecting_needs_a_reason(
    api: Api, person: Any, enqueued: list[list[int]], session_factory: sessionmaker[Session]
) -> None:
    add_action(api, approval={"manual": "always"})
    olga: Person = person("olga")
    olga.get("/actions/restart")
    first = olga.post("/actions/restart/run", [("param.service", "web")])
    second = olga.post("/actions/restart/run", [("param.service", "api")])
    first_id = int(first.headers["location"].rsplit("/", 1)[1])
    second_id = int(second.headers["location"].rsplit("/", 1)[1])

    own = olga.get("/confirmations")
    assert "someone else must approve it" in own.text  # no button for the requester

    root: Person = person("root")
    queue = root.get("/confirmations")
    assert "/bin/echo" in queue.text and "restart" in queue.text
    pin = re.search(
        rf'action="/runs/{first_id}/approve".*?name="pin" value="([0-9a-f]{{64}})"',
        queue.text,
        re.S,
    )
    assert pin
    stale = root.post(f"/runs/{first_id}/approve", {"pin": "0" * 64})
    assert stale.status_code == 409
    ok = root.post(f"/runs/{first_id}/approve", {"pin": pin.group(1), "comment": "go"})
    assert ok.status_code == 303 and ok.headers["location"] == f"/runs/{first_id}?done=queued"
    assert [first_id] in enqueued

    no_reason = root.post(f"/runs/{second_id}/reject", {"reason": "  "})
    assert no_reason.status_code == 422 and "a reason is required" in no_reason.text
    rejected = root.post(f"/runs/{second_id}/reject", {"reason": "not now"})
    assert rejected.status_code == 303
    with session_factory() as s:
        states = {r.id: r.state for r in s.scalars(select(Run))}
    assert states == {first_id: "queued", second_id: "rejected"}


def test_cancel_from_the_run_page(api: Api, person: Any) -> None:
    add_action(api)
    olga: Person = person("olga")
    olga.get("/actions/restart")
    started = olga.post("/actions/restart/run", [("param.service", "web")])
    run_url = started.headers["location"]
    cancelled = olga.post(f"{run_url}/cancel")
    assert cancelled.status_code == 303
    page = olga.get(cancelled.headers["location"])
    assert "Cancel requested." in page.text and "state-cancelled" in page.text
    again = olga.post(f"{run_url}/cancel")
    assert again.status_code == 409


def test_a_user_who_must_change_the_password_goes_to_that_page_first(
    app: FastAPI, people: People
) -> None:
    people.add("newbie", "operator", must_change_password=True)
    anon = Person(app)
    anon.post("/login", {"username": "newbie", "password": PASSWORD}, csrf=False)
    assert anon.get("/alerts").headers["location"] == "/password"
    page = anon.get("/password")
    assert "must be changed" in page.text
    weak = anon.post("/password", {"current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 422 and 'id="new_password-error"' in weak.text
    wrong = anon.post(
        "/password", {"current_password": "wrong one", "new_password": "a much longer phrase 42"}
    )
    assert wrong.status_code == 422 and 'id="current_password-error"' in wrong.text
    ok = anon.post(
        "/password", {"current_password": PASSWORD, "new_password": "a much longer phrase 42"}
    )
    assert ok.status_code == 303
    assert anon.get("/alerts").status_code == 200


def test_pages_carry_security_headers_and_assets_are_cached(person: Any) -> None:
    olga: Person = person("olga")
    for url in ("/", "/alerts", "/actions", "/runs", "/confirmations", "/login"):
        r = olga.get(url)
        assert r.status_code == 200, url
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store"
        assert "<script>" not in r.text and " style=" not in r.text
        assert " on" + "click" not in r.text
        assert re.findall(r'(?:src|href)="(https?:)?//', r.text) == []
    for asset in ("app.css", "app.js", "favicon.svg"):
        r = olga.get(f"/static/{asset}")
        assert r.status_code == 200
        assert "immutable" in r.headers["cache-control"]


def test_markup_in_alert_labels_is_shown_as_text(api: Api, person: Any) -> None:
    evil = {
        "labels": {"alertname": "<script>alert(1)</script>", "x": '"><img src=x onerror=1>'},
        "generator_url": "javascript:alert(1)",
    }
    assert api.post("/api/v1/alerts", json=evil).status_code in (200, 202)
    olga: Person = person("olga")
    listing = olga.get("/alerts")
    assert "<script>alert(1)" not in listing.text and "&lt;script&gt;" in listing.text
    alert_id = int(re.findall(r'href="/alerts/(\d+)"', listing.text)[0])
    detail = olga.get(f"/alerts/{alert_id}")
    assert "<img src=x" not in detail.text and "javascript:" not in detail.text
