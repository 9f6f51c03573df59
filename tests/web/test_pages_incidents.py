"""The incident pages through HTTP on both backends: the list and its filters, the detail
with alerts and timeline, working an incident from its forms (checked through the API),
what a viewer sees and may do, CSRF, escaping, the post-mortem download, the dashboard's
open incidents and the kill-switch banner on every page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.helpers import Api
from tests.web.conftest import Person


def _alert(api: Api, name: str = "DiskFull", service: str = "checkout") -> int:
    r = api.post(
        "/api/v1/alerts",
        json={"labels": {"alertname": name, "service": service, "instance": "db1"},
              "severity": "critical", "fingerprint": f"{name}-{service}"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    found = api.get("/api/v1/alerts", params={"fingerprint": f"{name}-{service}"}).json()
    return int(found["items"][0]["id"])


def _incident(api: Api, title: str = "Checkout is down", **body: Any) -> dict[str, Any]:
    r = api.post("/api/v1/incidents", json={"title": title, **body})
    assert r.status_code == 201, r.text
    incident: dict[str, Any] = r.json()
    return incident


def _get(api: Api, incident_id: int) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/api/v1/incidents/{incident_id}").json()
    return found


def test_list_filters_and_pages_newest_first(api: Api, person: Any) -> None:
    first = _incident(api, "Payments slow", severity="warning", service="payments")
    second = _incident(api, "Checkout is down", severity="critical", service="checkout")
    api.post(f"/api/v1/incidents/{first['id']}/resolve")
    olga: Person = person("olga")

    page = olga.get("/incidents")
    assert page.status_code == 200
    assert page.text.index("Checkout is down") < page.text.index("Payments slow")
    assert f'href="/incidents/{second["id"]}"' in page.text

    critical = olga.get("/incidents?severity=critical").text
    assert "Checkout is down" in critical and "Payments slow" not in critical
    by_service = olga.get("/incidents?service=payments").text
    assert "Payments slow" in by_service and "Checkout is down" not in by_service
    still_open = olga.get("/incidents?status=open").text
    assert "Checkout is down" in still_open and "Payments slow" not in still_open
    resolved = olga.get("/incidents?status=resolved").text
    assert "Payments slow" in resolved and "Checkout is down" not in resolved
    assert olga.get("/incidents?status=bogus").status_code == 400
    older = olga.get(f"/incidents?before_id={second['id']}").text
    assert "Payments slow" in older and "Checkout is down" not in older


def test_detail_shows_alerts_and_timeline_and_the_forms(api: Api, person: Any) -> None:
    alert_id = _alert(api)
    incident = _incident(api, severity="critical", alert_ids=[alert_id])
    olga: Person = person("olga")
    page = olga.get(f"/incidents/{incident['id']}")
    assert page.status_code == 200
    assert f'href="/alerts/{alert_id}"' in page.text and "DiskFull" in page.text
    timeline = page.text[page.text.index('id="timeline"') :]
    assert "user:" in timeline or "token:writer" in timeline  # who opened it
    for action in ("acknowledge", "resolve", "people", "analysis", "notes"):
        assert f'action="/incidents/{incident["id"]}/{action}"' in page.text, action
    assert f'action="/incidents/{incident["id"]}/reopen"' not in page.text  # not resolved
    link = f"/api/v1/incidents/{incident['id']}/postmortem"
    assert link in page.text
    download = olga.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/markdown")
    assert "Checkout is down" in download.text
    assert olga.get("/incidents/9999").status_code == 404


def test_an_operator_works_an_incident_from_its_page(api: Api, person: Any) -> None:
    incident = _incident(api)
    iid = incident["id"]
    olga: Person = person("olga")
    olga.get(f"/incidents/{iid}")

    r = olga.post(f"/incidents/{iid}/acknowledge", {"expires_in": "3600", "note": "on it"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/incidents/{iid}?done=")
    now = _get(api, iid)
    assert now["status"] == "acknowledged" and now["acknowledged_by"] == "user:olga"
    assert now["assignee"] == "user:olga"
    expires = datetime.fromisoformat(now["ack_expires_at"].replace("Z", "+00:00"))
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    assert timedelta(minutes=55) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert "Incident acknowledged." in olga.get(r.headers["location"]).text

    # Acknowledging twice is not a move the lifecycle has.
    again = olga.post(f"/incidents/{iid}/acknowledge", {"expires_in": "0"})
    assert again.status_code == 409 and "cannot go from acknowledged" in again.text

    r = olga.post(f"/incidents/{iid}/people", {"assignee": "user:root", "commander": "user:olga"})
    assert r.status_code == 303
    now = _get(api, iid)
    assert (now["assignee"], now["commander"]) == ("user:root", "user:olga")

    r = olga.post(
        f"/incidents/{iid}/analysis",
        {"summary": "Checkout failed", "root_cause": "disk full on db1",
         "follow_ups": "alert at 80 %\n\n rotate logs \n"},
    )  # fmt: skip
    assert r.status_code == 303
    now = _get(api, iid)
    assert now["root_cause"] == "disk full on db1" and now["summary"] == "Checkout failed"
    assert now["follow_ups"] == ["alert at 80 %", "rotate logs"]

    assert olga.post(f"/incidents/{iid}/notes", {"body": "  "}).status_code == 422
    r = olga.post(f"/incidents/{iid}/notes", {"body": "freed 20 GB"})
    assert r.status_code == 303
    r = olga.post(f"/incidents/{iid}/resolve", {"note": "disk cleaned"})
    assert r.status_code == 303 and _get(api, iid)["status"] == "resolved"
    page = olga.get(f"/incidents/{iid}").text
    assert f'action="/incidents/{iid}/reopen"' in page
    assert f'action="/incidents/{iid}/acknowledge"' not in page
    r = olga.post(f"/incidents/{iid}/reopen", {"note": "back again"})
    assert r.status_code == 303 and _get(api, iid)["status"] == "triggered"

    timeline = api.get(f"/api/v1/incidents/{iid}/timeline").json()
    notes = [t["summary"] for t in timeline if t["kind"] == "note"]
    assert notes == ["on it", "freed 20 GB", "disk cleaned", "back again"]
    assert all(t["actor"] == "user:olga" for t in timeline if t["kind"] in ("note", "edit"))
    audited = [
        e["action"]
        for e in api.get("/api/v1/audit", params={"object_type": "incident"}).json()["items"]
        if e["actor"] == "user:olga"
    ]
    assert audited == [
        "incident.reopened",
        "incident.resolved",
        "incident.note_added",
        "incident.analysis_set",
        "incident.assigned",
        "incident.acknowledged",
    ]
    # The page shows what was recorded, with who.
    shown = olga.get(f"/incidents/{iid}").text
    assert "freed 20 GB" in shown and "disk full on db1" in shown


def test_a_note_with_markup_is_shown_as_text(api: Api, person: Any) -> None:
    incident = _incident(api, '<img src=x onerror="boom()">')
    olga: Person = person("olga")
    olga.get(f"/incidents/{incident['id']}")
    note = "<script>alert('x')</script> & more"
    assert olga.post(f"/incidents/{incident['id']}/notes", {"body": note}).status_code == 303
    page = olga.get(f"/incidents/{incident['id']}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "&lt;img src=x" in olga.get("/incidents").text


def test_a_viewer_sees_no_buttons_and_a_post_anyway_is_refused(api: Api, person: Any) -> None:
    incident = _incident(api)
    iid = incident["id"]
    vera: Person = person("vera")
    page = vera.get(f"/incidents/{iid}")
    assert page.status_code == 200 and "Checkout is down" in page.text
    assert f"/incidents/{iid}/" not in page.text.replace(f"/api/v1/incidents/{iid}/", "")
    assert "<button" not in page.text.split("</header>")[1]
    for url, form in (
        (f"/incidents/{iid}/acknowledge", {"expires_in": "0"}),
        (f"/incidents/{iid}/resolve", {}),
        (f"/incidents/{iid}/notes", {"body": "hello"}),
        (f"/incidents/{iid}/people", {"assignee": "user:vera"}),
        (f"/incidents/{iid}/analysis", {"root_cause": "me"}),
    ):
        refused = vera.post(url, form)
        assert refused.status_code == 403, url
        assert "permission" in refused.text
    now = _get(api, iid)
    assert now["status"] == "triggered" and now["assignee"] is None and now["root_cause"] == ""
    timeline = api.get(f"/api/v1/incidents/{iid}/timeline").json()
    assert [t for t in timeline if t["kind"] == "note"] == []


def test_a_post_without_the_csrf_token_is_refused(api: Api, person: Any) -> None:
    incident = _incident(api)
    olga: Person = person("olga")
    olga.get(f"/incidents/{incident['id']}")
    refused = olga.post(f"/incidents/{incident['id']}/acknowledge", {}, csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = olga.post(
        f"/incidents/{incident['id']}/notes", [("body", "x"), ("csrf_token", "y" * 43)], csrf=False
    )
    assert forged.status_code == 403
    assert _get(api, incident["id"])["status"] == "triggered"


def test_dashboard_lists_open_incidents(api: Api, person: Any) -> None:
    closed = _incident(api, "Old trouble", severity="warning")
    api.post(f"/api/v1/incidents/{closed['id']}/resolve")
    _incident(api, "Minor trouble", severity="warning")
    _incident(api, "Major trouble", severity="critical")
    olga: Person = person("olga")
    home = olga.get("/").text
    section = home[home.index("Open incidents</h2>") :]
    assert "Major trouble" in section and "Minor trouble" in section
    assert "Old trouble" not in home
    assert section.index("Major trouble") < section.index("Minor trouble")  # newest first
    tiles = re.findall(r'<span class="num">(\d+)</span> (open incidents|critical|warning)', home)
    assert ("2", "open incidents") in tiles and ("1", "critical") in tiles


def test_the_paused_banner_is_on_every_page_while_automation_is_paused(
    api: Api, person: Any
) -> None:
    olga: Person = person("olga")
    pages = ("/", "/alerts", "/incidents", "/tasks", "/knowledge", "/recommendations", "/runs")
    for url in pages:
        assert "Automation is paused" not in olga.get(url).text, url
    r = api.put("/api/v1/automation", json={"paused": True, "reason": "<b>db migration</b>"})
    assert r.status_code == 200
    vera: Person = person("vera")
    for who in (olga, vera):
        for url in pages:
            page = who.get(url)
            assert page.status_code == 200, url
            assert "Automation is paused" in page.text, url
            assert "&lt;b&gt;db migration&lt;/b&gt;" in page.text and "token:writer" in page.text
    # An error page carries it too.
    assert "Automation is paused" in olga.get("/incidents/9999").text
    assert api.put("/api/v1/automation", json={"paused": False}).status_code == 200
    for url in pages:
        assert "Automation is paused" not in olga.get(url).text, url
