"""Runs over HTTP: listing, detail with events, cancellation."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.runs import service as runs
from tests.api.helpers import AM_URL, Api, restart_action, restart_rule


def _manual(api: Api, service: str = "web") -> dict[str, object]:
    r = api.post("/api/v1/actions/restart/runs", json={"params": {"service": service}})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_cancel_queued_run_then_again_is_409(api: Api) -> None:
    api.post("/api/v1/actions", json=restart_action())
    run = _manual(api)
    r = api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled" and r.json()["cancel_requested"] is True
    assert r.json()["finished_at"] is not None

    again = api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    assert api.post("/api/v1/runs/999999/cancel").status_code == 404

    detail = api.get(f"/api/v1/runs/{run['id']}").json()
    assert [(e["from_state"], e["to_state"]) for e in detail["events"]] == [
        (None, "queued"),
        ("queued", "cancelled"),
    ]
    assert "token:writer" in detail["events"][1]["reason"]
    audit = api.get("/api/v1/audit", params={"action": "run.cancel_requested"}).json()["items"]
    assert [e["object_id"] for e in audit] == [str(run["id"])]


def test_cancel_running_run_asks_the_worker(
    api: Api, session_factory: sessionmaker[Session]
) -> None:
    api.post("/api/v1/actions", json=restart_action())
    run = _manual(api)
    with session_factory.begin() as s:
        claimed = runs.claim(s, worker_id="w1", now=datetime.now(UTC))
        assert claimed is not None and claimed.id == run["id"]
    r = api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert r.status_code == 200
    assert r.json()["state"] == "running" and r.json()["cancel_requested"] is True


def test_run_list_filters_and_paging(api: Api, firing_payload: bytes) -> None:
    api.post("/api/v1/actions", json=restart_action())
    rule_id = api.post("/api/v1/rules", json=restart_rule()).json()["id"]
    manual_ids = [_manual(api, f"svc-{i}")["id"] for i in range(3)]
    api.post_raw(AM_URL, firing_payload)

    everything = api.get("/api/v1/runs").json()
    assert len(everything["items"]) == 4 and everything["next_before_id"] is None
    ids = [r["id"] for r in everything["items"]]
    assert ids == sorted(ids, reverse=True)

    page1 = api.get("/api/v1/runs", params={"limit": 2}).json()
    assert [r["id"] for r in page1["items"]] == ids[:2]
    page2 = api.get(
        "/api/v1/runs", params={"limit": 2, "before_id": page1["next_before_id"]}
    ).json()
    assert [r["id"] for r in page2["items"]] == ids[2:]

    from_rule = api.get("/api/v1/runs", params={"rule_id": rule_id}).json()["items"]
    assert len(from_rule) == 1 and from_rule[0]["alert_id"] is not None
    by_alert = api.get("/api/v1/runs", params={"alert_id": from_rule[0]["alert_id"]}).json()
    assert [r["id"] for r in by_alert["items"]] == [from_rule[0]["id"]]
    assert len(api.get("/api/v1/runs", params={"state": "queued"}).json()["items"]) == 4
    assert api.get("/api/v1/runs", params={"state": "running"}).json()["items"] == []
    assert len(api.get("/api/v1/runs", params={"action": "restart"}).json()["items"]) == 4

    bad = api.get("/api/v1/runs", params={"state": "exploded"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "state"]
    assert api.get("/api/v1/runs", params={"limit": 501}).status_code == 422
    assert api.get("/api/v1/runs/999999").status_code == 404

    detail = api.get(f"/api/v1/runs/{manual_ids[0]}").json()
    assert detail["output"] == "" and detail["params"] == {"service": "svc-0"}
