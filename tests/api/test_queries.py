"""Searching alerts and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.helpers import AM_URL, Api


def _send(api: Api, *alerts: object) -> None:
    r = api.post("/api/v1/alerts", json=list(alerts))
    assert r.status_code == 200, r.text


def test_alert_filters_and_matchers(api: Api, firing_payload: bytes) -> None:
    api.post_raw(AM_URL, firing_payload)
    _send(
        api,
        {"labels": {"alertname": "Down", "service": "web"}, "severity": "page"},
        {"labels": {"alertname": "Down", "service": "db"}, "status": "resolved"},
    )

    def names(**params: object) -> list[str]:
        r = api.get("/api/v1/alerts", params=params)
        assert r.status_code == 200, r.text
        return [a["labels"].get("service") or a["labels"]["instance"] for a in r.json()["items"]]

    assert len(names()) == 4
    assert names(source="generic") == ["db", "web"]
    assert names(status="resolved") == ["db"]
    assert names(severity="page") == ["web"]
    assert names(fingerprint="3778d00114beb8b9") == ["checkout"]
    assert names(matcher='service="web"') == ["web"]
    assert names(matcher=['alertname="Down"', 'service!="web"']) == ["db"]
    assert names(matcher='instance=~"10\\.0\\.0\\.2:.*"') == ["checkout"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert names(since=future) == []
    assert len(names(until=future)) == 4
    assert len(names(since="2000-01-01T00:00:00")) == 4  # no zone: taken as UTC

    bad = api.get("/api/v1/alerts", params={"matcher": ["service", 'x=~"("']})
    assert bad.status_code == 422
    locs = [e["loc"] for e in bad.json()["detail"]]
    assert locs == [["query", "matcher", 0], ["query", "matcher", 1]]
    assert api.get("/api/v1/alerts", params={"status": "maybe"}).status_code == 422
    assert api.get("/api/v1/alerts", params={"limit": 0}).status_code == 422


def test_alert_paging(api: Api) -> None:
    _send(api, *({"labels": {"alertname": "A", "n": str(i)}} for i in range(5)))
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params: dict[str, object] = {"limit": 2}
        if cursor is not None:
            params["before_id"] = cursor
        page = api.get("/api/v1/alerts", params=params).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_before_id"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    page = api.get("/api/v1/alerts", params={"limit": 2, "matcher": 'n=~"[13]"'}).json()
    assert [a["labels"]["n"] for a in page["items"]] == ["3", "1"]


def test_alert_detail(api: Api, firing_payload: bytes, resolved_payload: bytes) -> None:
    api.post_raw(AM_URL, firing_payload)
    api.post_raw(AM_URL, resolved_payload)
    alert = api.get("/api/v1/alerts", params={"fingerprint": "a935abeedce20cc4"}).json()
    detail = api.get(f"/api/v1/alerts/{alert['items'][0]['id']}").json()
    assert detail["fingerprint"] == "a935abeedce20cc4" and detail["status"] == "resolved"
    assert [(h["from_status"], h["to_status"]) for h in detail["history"]] == [
        (None, "firing"),
        ("firing", "resolved"),
    ]
    assert detail["decisions"] == [] and detail["runs"] == []
    assert api.get("/api/v1/alerts/999999").status_code == 404
    r = api.get("/api/v1/alerts/abc")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "alert_id"]


def test_audit_lists_ingest_and_config_changes(api: Api, firing_payload: bytes) -> None:
    api.post_raw(AM_URL, firing_payload)
    api.post(
        "/api/v1/actions",
        json={"name": "noop", "argv": ["true"]},
    )
    entries = api.get("/api/v1/audit").json()["items"]
    assert [e["action"] for e in entries] == ["action.created", "alerts.ingested"]
    ingested = entries[1]
    assert ingested["object_type"] == "alert" and ingested["detail"]["received"] == 2
    assert entries[0]["detail"]["argv"] == ["true"]

    only = api.get("/api/v1/audit", params={"action": "alerts.ingested"}).json()["items"]
    assert [e["id"] for e in only] == [ingested["id"]]
    assert (
        api.get("/api/v1/audit", params={"object_id": "noop"}).json()["items"][0]["id"]
        == (entries[0]["id"])
    )
    older = api.get("/api/v1/audit", params={"before_id": entries[0]["id"]}).json()["items"]
    assert [e["id"] for e in older] == [ingested["id"]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.get("/api/v1/audit", params={"since": future}).json()["items"] == []
    # Read only: nothing writes, edits or deletes entries.
    assert api.post("/api/v1/audit", json={}).status_code == 405
    assert api.delete("/api/v1/audit").status_code == 405
