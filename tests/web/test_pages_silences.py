"""The silences page on both backends: active, pending and expired silences listed; creating
one (errors next to the matcher, comment and time fields) and expiring one really change
what the API sees and silence alerts; a viewer sees no form and is refused (audited)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.audit.models import AuditEntry
from tests.api.helpers import Api
from tests.web.conftest import Person, add_action


def _local(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _silence(api: Api, matcher: str, comment: str, start: datetime, end: datetime) -> int:
    body = {
        "matchers": [matcher],
        "comment": comment,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
    }
    reply = api.post("/api/v1/silences", json=body)
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def _section(html: str, kind: str) -> str:
    found = re.search(rf'id="silences-{kind}">(.*?)</section>', html, re.S)
    assert found, kind
    return found.group(1)


def test_silences_listed_by_state_and_escaped(api: Api, person: Any) -> None:
    now = datetime.now(UTC)
    active = _silence(
        api, 'team="db"', "<b>db upgrade</b>", now - timedelta(minutes=5), now + timedelta(hours=1)
    )
    pending = _silence(
        api, 'team="web"', "tomorrow", now + timedelta(days=1), now + timedelta(days=2)
    )
    ended = _silence(api, 'team="net"', "done", now - timedelta(hours=2), now + timedelta(hours=1))
    assert api.post(f"/api/v1/silences/{ended}/expire").status_code == 200

    vera: Person = person("vera")
    page = vera.get("/silences")
    assert page.status_code == 200
    assert f'id="silence-{active}"' in _section(page.text, "active")
    assert f'id="silence-{pending}"' in _section(page.text, "pending")
    assert f'id="silence-{ended}"' in _section(page.text, "expired")
    assert "team=&#34;db&#34;" in page.text
    assert "&lt;b&gt;db upgrade&lt;/b&gt;" in page.text and "<b>db upgrade" not in page.text
    # A viewer may look, not silence nor expire.
    assert 'action="/silences"' not in page.text and "/expire" not in page.text
    assert "New silence" not in page.text


def test_create_and_expire_a_silence_from_the_page(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    olga: Person = person("olga")  # an operator may silence (the ack permission)
    page = olga.get("/silences")
    assert "New silence" in page.text and 'name="ends_at"' in page.text
    now = datetime.now(UTC)

    bad = olga.post(
        "/silences",
        {
            "matchers": 'alertname="DiskFull"\ninstance=~"("',
            "comment": "  ",
            "ends_at": _local(now - timedelta(hours=1)),
        },
    )
    assert bad.status_code == 422
    matcher_error = re.search(r'id="matchers-error">([^<]*)<', bad.text)
    assert matcher_error and matcher_error.group(1).startswith("line 2:")
    assert 'id="ends_at-error"' in bad.text and 'id="comment-error"' in bad.text
    assert "instance=~&#34;(&#34;" in bad.text  # what was typed stays
    no_end = olga.post("/silences", {"matchers": 'a="b"', "comment": "x", "ends_at": ""})
    assert no_end.status_code == 422 and 'id="ends_at-error"' in no_end.text
    bad_time = olga.post(
        "/silences", {"matchers": 'a="b"', "comment": "x", "ends_at": "soon", "starts_at": "x"}
    )
    assert 'id="ends_at-error"' in bad_time.text and 'id="starts_at-error"' in bad_time.text
    assert api.get("/api/v1/silences").json() == []

    made = olga.post(
        "/silences",
        [
            ("matchers", 'alertname="DiskFull"\r\ninstance=~"db.*"\r\n'),
            ("comment", "disk swap"),
            ("ends_at", _local(now + timedelta(hours=3))),
            ("expire_on_resolve", "false"),
        ],
    )
    assert made.status_code == 303 and made.headers["location"] == "/silences?done=silenced"
    [silence] = api.get("/api/v1/silences").json()
    assert silence["matchers"] == ['alertname="DiskFull"', 'instance=~"db.*"']
    assert silence["state"] == "active" and silence["created_by"] == "user:olga"
    assert silence["expire_on_resolve"] is False

    # It really silences: a matching alert is stored, and its rule runs nothing.
    add_action(api)
    rule = {
        "name": "clean-disk",
        "matchers": ['alertname="DiskFull"'],
        "action": "restart",
        "parameters": {"service": "disk"},
    }
    assert api.post("/api/v1/rules", json=rule).status_code == 201
    alert = {"labels": {"alertname": "DiskFull", "instance": "db1"}, "severity": "warning"}
    assert api.post("/api/v1/alerts", json=alert).status_code in (200, 202)
    [stored] = api.get("/api/v1/alerts").json()["items"]
    detail = api.get(f"/api/v1/alerts/{stored['id']}").json()
    assert detail["runs"] == []
    assert [d["outcome"] for d in detail["decisions"]] == ["silenced"]

    later = olga.get("/silences?done=silenced")
    assert "Silence created." in later.text
    assert f'id="silence-{silence["id"]}"' in _section(later.text, "active")
    expired = olga.post(f"/silences/{silence['id']}/expire")
    assert expired.status_code == 303
    assert api.get(f"/api/v1/silences/{silence['id']}").json()["state"] == "expired"
    assert f'id="silence-{silence["id"]}"' in _section(olga.get("/silences").text, "expired")
    assert olga.post(f"/silences/{silence['id']}/expire").status_code == 409
    assert olga.post("/silences/999999/expire").status_code == 404
    with session_factory() as s:
        entries = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action.in_(["silences.created", "silences.expired"])
            )
        ).all()
    assert sorted((e.action, e.actor, e.detail["via"]) for e in entries) == [
        ("silences.created", "user:olga", "web"),
        ("silences.expired", "user:olga", "web"),
    ]


def test_a_viewer_posting_anyway_is_refused_and_audited(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    sid = _silence(api, 'team="db"', "x", now - timedelta(minutes=1), now + timedelta(hours=1))
    vera: Person = person("vera")
    vera.get("/silences")
    form = {"matchers": 'a="b"', "comment": "x", "ends_at": _local(now + timedelta(hours=1))}
    assert vera.post("/silences", form).status_code == 403
    assert vera.post(f"/silences/{sid}/expire").status_code == 403
    olga: Person = person("olga")
    olga.get("/silences")
    assert olga.post(f"/silences/{sid}/expire", csrf=False).status_code == 403
    assert olga.post("/silences", form, csrf=False).status_code == 403
    [kept] = api.get("/api/v1/silences").json()
    assert kept["state"] == "active"
    with session_factory() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.denied")).all()
    assert len(denied) == 4


def test_the_page_says_which_silences_matched_nothing_and_end_soon(api: Api, person: Any) -> None:
    now = datetime.now(UTC)
    alert = {"labels": {"alertname": "DiskFull", "instance": "db1"}, "status": "firing"}
    assert api.post("/api/v1/alerts", json=alert).status_code == 200
    useful = _silence(api, 'alertname="DiskFull"', "known", now, now + timedelta(days=3))
    typo = _silence(api, 'alertname="DiskFul"', "typo", now, now + timedelta(hours=2))
    page = person("vera").get("/silences")
    active = _section(page.text, "active")
    rows = dict(re.findall(r'id="silence-(\d+)">(.*?)</tr>', active, re.S))
    assert "1 firing now" in rows[str(useful)] and "matched nothing" not in rows[str(useful)]
    assert "matched nothing" in rows[str(typo)] and "ends within 24 h" in rows[str(typo)]
    assert "ends within 24 h" not in rows[str(useful)]
    summary = re.search(r'id="silence-summary">(.*?)</p>', page.text, re.S)
    assert summary is not None
    assert summary.group(1).startswith("1 active silence ending within 24 h; 1 active silence")
