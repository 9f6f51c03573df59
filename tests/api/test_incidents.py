"""Incidents through the real API: ingest groups Alertmanager's alerts, then people work the
incident (acknowledge with expiry, assign, notes, root cause), download the post-mortem and
read statistics."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import People
from tests.api.helpers import AM_URL, Api, Clock

URL = "/api/v1/incidents"


def _only_incident(api: Api) -> dict[str, Any]:
    r = api.get(URL)
    assert r.status_code == 200, r.text
    [incident] = r.json()["items"]
    detail = api.get(f"{URL}/{incident['id']}")
    assert detail.status_code == 200
    body: dict[str, Any] = detail.json()
    return body


def test_alertmanager_fixture_makes_one_incident_with_both_alerts(
    api: Api, firing_payload: bytes, resolved_payload: bytes
) -> None:
    # Both alerts share alertname, cluster and service (the default rule's labels) and differ
    # only by instance: one outage of one service, so one incident.
    assert api.post_raw(AM_URL, firing_payload).status_code == 200
    assert api.post_raw(AM_URL, firing_payload).status_code == 200  # a re-send adds nothing
    incident = _only_incident(api)
    assert incident["title"] == "HighErrorRate (cluster=bench-1, service=checkout)"
    assert incident["severity"] == "critical" and incident["service"] == "checkout"
    assert sorted(a["fingerprint"] for a in incident["alerts"]) == [
        "3778d00114beb8b9",
        "a935abeedce20cc4",
    ]
    assert api.post_raw(AM_URL, resolved_payload).status_code == 200
    incident = _only_incident(api)
    assert incident["status"] == "resolved" and incident["resolved_by"] == "system"
    kinds = [t["kind"] for t in api.get(f"{URL}/{incident['id']}/timeline").json()]
    assert kinds[:3] == ["status", "alert", "alert"] and kinds[-1] == "status"


def test_work_an_incident_by_hand(api: Api, clock: Clock, people: People) -> None:
    r = api.post(URL, json={"title": "Payments slow", "severity": "high", "service": "pay"})
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    olga = people.browser("olga")
    r = olga.post(f"{URL}/{iid}/acknowledge", json={"expires_in_seconds": 600, "note": "on it"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged" and r.json()["assignee"] == "user:olga"
    assert olga.post(f"{URL}/{iid}/acknowledge").status_code == 409
    clock.advance(seconds=601)
    assert api.get(f"{URL}/{iid}").json()["status"] == "triggered"  # the ack lapsed
    r = olga.request("PUT", f"{URL}/{iid}/people", json={"commander": "root"})
    assert r.status_code == 200 and r.json()["commander"] == "root"
    assert r.json()["assignee"] == "user:olga"  # left out: unchanged
    assert (
        olga.request("PUT", f"{URL}/{iid}/severity", json={"severity": "critical"}).status_code
        == 200
    )
    r = olga.post(f"{URL}/{iid}/notes", json={"body": "rolled back release 42"})
    assert r.status_code == 201 and r.json()[-1]["actor"] == "user:olga"
    r = olga.request(
        "PUT",
        f"{URL}/{iid}/analysis",
        json={"root_cause": "Release 42 doubled DB queries.", "follow_ups": ["Load test"]},
    )
    assert r.status_code == 200, r.text
    assert olga.post(f"{URL}/{iid}/resolve", json={"note": "fixed"}).status_code == 200
    assert olga.post(f"{URL}/{iid}/resolve").status_code == 409
    assert olga.post(f"{URL}/{iid}/reopen").status_code == 200
    assert olga.post(f"{URL}/{iid}/resolve").status_code == 200

    timeline = api.get(f"{URL}/{iid}/timeline").json()
    assert [t["at"] for t in timeline] == sorted(t["at"] for t in timeline)
    summaries = [(t["actor"], t["summary"]) for t in timeline]
    assert ("system", "triggered again (acknowledgement expired)") in summaries
    assert ("user:olga", "rolled back release 42") in summaries

    r = api.get(f"{URL}/{iid}/postmortem")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/markdown")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="incident-{iid}-postmortem.md"'
    )
    assert "Release 42 doubled DB queries." in r.text and "- [ ] Load test" in r.text

    audited = api.get("/api/v1/audit", params={"object_type": "incident"}).json()["items"]
    actions = {e["action"] for e in audited}
    assert {"incident.created", "incident.acknowledged", "incident.reopened"} <= actions

    stats = api.get(f"{URL}/stats", params={"days": 7}).json()
    assert stats["overall"]["count"] == 1 and stats["overall"]["resolved"] == 1
    assert stats["by_service"]["pay"]["mtta_mean"] == 0.0
    assert stats["by_severity"]["critical"]["count"] == 1


def test_viewers_read_but_cannot_change(api: Api, people: People) -> None:
    iid = api.post(URL, json={"title": "x"}).json()["id"]
    vera = people.browser("vera")
    assert vera.get(f"{URL}/{iid}").status_code == 200
    r = vera.post(f"{URL}/{iid}/acknowledge")
    assert r.status_code == 403 and "ack" in r.json()["detail"]


def test_list_filters_and_bad_input(api: Api) -> None:
    for n in range(3):
        api.post(URL, json={"title": f"i{n}", "severity": "warning" if n else "critical"})
    r = api.get(URL, params={"severity": "warning", "limit": 1})
    page = r.json()
    assert [i["title"] for i in page["items"]] == ["i2"] and page["next_before_id"]
    r = api.get(URL, params={"severity": "warning", "before_id": page["next_before_id"]})
    assert [i["title"] for i in r.json()["items"]] == ["i1"]
    assert api.get(URL, params={"status": "bogus"}).status_code == 422
    r = api.post(URL, json={"title": "y", "alert_ids": [999]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["alert_ids", 0]
    assert api.get(f"{URL}/999").status_code == 404
