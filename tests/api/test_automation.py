"""The kill switch over HTTP: pause, resume, audit, /metrics, and what it holds back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.runs import service as runs
from tests.api.helpers import AM_URL, Api, Tokens, restart_action, restart_rule


def _claim(sf: sessionmaker[Session]) -> int | None:
    with sf.begin() as s:
        run = runs.claim(s, worker_id="w", now=datetime.now(UTC))
        return run.id if run else None


def _metric(api: Api) -> str:
    text = api.get("/metrics").text
    return next(line for line in text.splitlines() if line.startswith("sophrosyne_automation"))


def test_pause_holds_automatic_runs_and_manual_runs_still_work(
    api: Api,
    tokens: Tokens,
    firing_payload: bytes,
    session_factory: sessionmaker[Session],
    enqueued: list[list[int]],
) -> None:
    api.post("/api/v1/actions", json=restart_action())
    api.post("/api/v1/rules", json=restart_rule())
    assert api.get("/api/v1/automation").json() == {
        "paused": False,
        "reason": "",
        "by": None,
        "since": None,
    }
    assert _metric(api) == "sophrosyne_automation_paused 0.0"

    r = api.put("/api/v1/automation", json={"paused": True, "reason": "  "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["reason"]
    assert api.as_(tokens.read).put("/api/v1/automation", json={"paused": False}).status_code == 403
    r = api.put("/api/v1/automation", json={"paused": True, "reason": "incident 42"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["paused"], body["reason"], body["by"]) == (True, "incident 42", "token:writer")
    assert api.as_(tokens.read).get("/api/v1/automation").json()["paused"] is True
    assert _metric(api) == "sophrosyne_automation_paused 1.0"

    # A matching alert: its run is created, waiting for a person, and the alert says why.
    reply = api.post_raw(AM_URL, firing_payload).json()
    assert (reply["runs_enqueued"], reply["runs_awaiting_confirmation"]) == (0, 1)
    alert_id = api.get("/api/v1/alerts").json()["items"][0]["id"]
    detail = api.get(f"/api/v1/alerts/{alert_id}").json()
    [decision] = detail["decisions"]
    assert decision["outcome"] == "automation_paused"
    assert "automation paused by token:writer" in decision["detail"]
    assert "incident 42" in decision["detail"]
    assert decision["run_id"] == detail["runs"][0]["id"]
    assert detail["runs"][0]["state"] == "awaiting_confirmation"

    # A person's manual run is queued and claimed as usual.
    manual = api.post("/api/v1/actions/restart/runs", json={"params": {"service": "web"}})
    assert manual.status_code == 201 and manual.json()["state"] == "queued"
    assert _claim(session_factory) == manual.json()["id"]

    r = api.put("/api/v1/automation", json={"paused": False, "reason": "resolved"})
    assert r.status_code == 200 and r.json()["paused"] is False
    assert enqueued[-1] == []  # the in-process worker is woken
    assert _metric(api) == "sophrosyne_automation_paused 0.0"
    audit = api.get("/api/v1/audit", params={"object_type": "automation"}).json()["items"]
    assert [(e["action"], e["actor"], e["detail"]["reason"]) for e in audit] == [
        ("automation.resumed", "token:writer", "resolved"),
        ("automation.paused", "token:writer", "incident 42"),
    ]


def test_queued_automatic_runs_wait_for_resume(
    api: Api, firing_payload: bytes, session_factory: sessionmaker[Session]
) -> None:
    api.post("/api/v1/actions", json=restart_action())
    api.post("/api/v1/rules", json=restart_rule())
    assert api.post_raw(AM_URL, firing_payload).json()["runs_enqueued"] == 1
    api.put("/api/v1/automation", json={"paused": True, "reason": "freeze"})
    assert _claim(session_factory) is None
    api.put("/api/v1/automation", json={"paused": False})
    assert _claim(session_factory) is not None


def test_guards_in_rules_and_actions_round_trip(api: Api) -> None:
    action = restart_action(rate_limit={"runs": 5, "window_seconds": 60}, target_concurrency=0)
    r = api.post("/api/v1/actions", json=action)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["rate_limit"] == {"runs": 5, "window_seconds": 60}
    assert r.json()["spec"]["target_concurrency"] == 0
    guards = {
        "rate_limit": {"runs": 10, "window_seconds": 600},
        "throttle": {"once_within": 300, "group_by": ["instance"]},
    }
    r = api.post("/api/v1/rules", json=restart_rule(guards=guards))
    assert r.status_code == 201, r.text
    assert r.json()["guards"]["throttle"] == {"once_within": 300, "group_by": ["instance"]}
    bad = restart_rule(name="bad", guards={"throttle": {"accumulate_within": 60}})
    r = api.post("/api/v1/rules", json=bad)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["guards", "throttle"]
    assert "accumulate_within needs a threshold" in error["msg"]
