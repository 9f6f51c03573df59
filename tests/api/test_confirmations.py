"""Confirmations through the API on both backends: pinning, quorum, requester ≠ approver,
allow-lists, rejection, expiry, and an approval that no longer matches what will run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.schemas import Scope, TokenCreate
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.runs.models import Run
from sophrosyne.flows import execute
from tests.api.conftest import People
from tests.api.helpers import Api, Tokens, loc_of


def token(sf: sessionmaker[Session], name: str, *scopes: Scope) -> str:
    with sf.begin() as s:
        _, secret = accounts.create(
            s, TokenCreate(name=name, scopes=list(scopes or [Scope.WRITE])), now=datetime.now(UTC)
        )
    return secret


def action(api: Api, **approval: Any) -> None:
    body = {
        "name": "restart",
        "argv": ["/bin/echo", "restart", "{{ params.service }}"],
        "parameters": [{"name": "service", "pattern": "[a-z][a-z0-9-]*"}],
        "risk": "high",
        "approval": approval,
    }
    assert api.post("/api/v1/actions", json=body).status_code == 201


def manual_run(api: Api, service: str = "checkout") -> dict[str, Any]:
    reply = api.post("/api/v1/actions/restart/runs", json={"params": {"service": service}})
    assert reply.status_code == 201, reply.text
    run: dict[str, Any] = reply.json()
    return run


def queue(api: Api) -> list[dict[str, Any]]:
    reply = api.get("/api/v1/confirmations")
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def approve(api: Api, run_id: int, pin: str, comment: str = "ok") -> Any:
    return api.post(f"/api/v1/runs/{run_id}/approve", json={"pin": pin, "comment": comment})


def test_a_risky_manual_run_waits_and_shows_exactly_what_will_run(
    api: Api, client: TestClient, session_factory: sessionmaker[Session], enqueued: list[list[int]]
) -> None:
    action(api)
    run = manual_run(api)
    assert run["state"] == "awaiting_confirmation"
    assert run["expires_at"] is not None and len(run["pin_hash"]) == 64
    [waiting] = queue(api)
    assert waiting["run_id"] == run["id"]
    assert waiting["argv"] == ["/bin/echo", "restart", "checkout"]
    assert waiting["requested_by"] == "token:writer"
    assert (waiting["quorum"], waiting["approvals"], waiting["risk"]) == (1, [], "high")
    # The requester may not approve their own run.
    refused = approve(api, run["id"], waiting["pin"])
    assert refused.status_code == 403 and "requester" in refused.json()["detail"]
    other = api.as_(token(session_factory, "second"))
    # A pin that is not the run's (what someone reviewed elsewhere) does not count.
    stale = approve(other, run["id"], "0" * 64)
    assert stale.status_code == 409 and "not what you approved" in stale.text
    done = approve(other, run["id"], waiting["pin"], "looks right")
    assert done.status_code == 200, done.text
    assert done.json()["approvals"][0]["actor"] == "token:second"
    assert api.get(f"/api/v1/runs/{run['id']}").json()["state"] == "queued"
    assert enqueued[-1] == [run["id"]]
    assert queue(api) == []
    with session_factory() as s:
        logged = [e for e in audit.search(s, object_type="run") if e.action == "run.approved"]
    assert logged[0].actor == "token:second"
    assert logged[0].detail["comment"] == "looks right" and logged[0].detail["queued"] is True


def test_quorum_needs_distinct_approvers(api: Api, session_factory: sessionmaker[Session]) -> None:
    action(api, quorum=2)
    run = manual_run(api)
    pin = run["pin_hash"]
    first = api.as_(token(session_factory, "first"))
    assert approve(first, run["id"], pin).json()["approvals"][0]["actor"] == "token:first"
    assert api.get(f"/api/v1/runs/{run['id']}").json()["state"] == "awaiting_confirmation"
    again = approve(first, run["id"], pin)
    assert again.status_code == 409 and "already" in again.text
    second = api.as_(token(session_factory, "second"))
    assert approve(second, run["id"], pin).status_code == 200
    assert api.get(f"/api/v1/runs/{run['id']}").json()["state"] == "queued"
    detail = api.get(f"/api/v1/runs/{run['id']}").json()
    assert detail["events"][-1]["reason"] == "approved by token:first, token:second (quorum 2)"
    assert [(a["actor"], a["decision"], a["pin_hash"]) for a in detail["approvals"]] == [
        ("token:first", "approve", pin),
        ("token:second", "approve", pin),
    ]


def test_an_approval_cannot_be_reused_for_another_run(
    api: Api, session_factory: sessionmaker[Session]
) -> None:
    action(api)
    first = manual_run(api, "checkout")
    second = manual_run(api, "payments")
    other = api.as_(token(session_factory, "second"))
    reused = approve(other, second["id"], first["pin_hash"])
    assert reused.status_code == 409
    assert api.get(f"/api/v1/runs/{second['id']}").json()["state"] == "awaiting_confirmation"


def test_only_listed_approvers_and_never_a_read_token(
    api: Api, tokens: Tokens, session_factory: sessionmaker[Session]
) -> None:
    action(api, approvers=["token:boss"])
    run = manual_run(api)
    outsider = api.as_(token(session_factory, "outsider"))
    refused = approve(outsider, run["id"], run["pin_hash"])
    assert refused.status_code == 403 and "token:boss" in refused.text
    assert approve(api.as_(tokens.read), run["id"], run["pin_hash"]).status_code == 403
    boss = api.as_(token(session_factory, "boss"))
    assert approve(boss, run["id"], run["pin_hash"]).status_code == 200


def test_reject_needs_a_reason_and_is_final(
    api: Api, session_factory: sessionmaker[Session]
) -> None:
    action(api)
    run = manual_run(api)
    other = api.as_(token(session_factory, "second"))
    assert loc_of(other.post(f"/api/v1/runs/{run['id']}/reject", json={"reason": " "})) == [
        ["reason"]
    ]
    reply = other.post(f"/api/v1/runs/{run['id']}/reject", json={"reason": "wrong service"})
    assert reply.status_code == 200, reply.text
    detail = api.get(f"/api/v1/runs/{run['id']}").json()
    assert detail["state"] == "rejected"
    assert detail["error"] == "rejected by token:second: wrong service"
    assert approve(other, run["id"], run["pin_hash"]).status_code == 409


def test_an_expired_run_never_runs(api: Api, session_factory: sessionmaker[Session]) -> None:
    action(api, expires_after_seconds=60)
    run = manual_run(api)
    later = datetime.now(UTC) + timedelta(seconds=61)
    with session_factory.begin() as s:
        assert execute.expire(s, now=later, actor="worker:test") == [run["id"]]
    detail = api.get(f"/api/v1/runs/{run['id']}").json()
    assert detail["state"] == "expired"
    other = api.as_(token(session_factory, "second"))
    assert approve(other, run["id"], run["pin_hash"]).status_code == 409


def test_a_run_changed_after_it_was_requested_cannot_be_approved(
    api: Api, session_factory: sessionmaker[Session]
) -> None:
    action(api)
    run = manual_run(api)
    with session_factory.begin() as s:
        s.execute(
            update(Run).where(Run.id == run["id"]).values(argv=["/bin/rm", "-rf", "/important"])
        )
    other = api.as_(token(session_factory, "second"))
    refused = approve(other, run["id"], run["pin_hash"])
    assert refused.status_code == 409 and "changed after it was requested" in refused.text
    assert api.get(f"/api/v1/runs/{run['id']}").json()["state"] == "awaiting_confirmation"


def test_low_risk_manual_runs_queue_at_once_unless_the_action_says_always(api: Api) -> None:
    body = {"name": "hello", "argv": ["/bin/echo", "hi"], "risk": "low"}
    assert api.post("/api/v1/actions", json=body).status_code == 201
    assert api.post("/api/v1/actions/hello/runs", json={}).json()["state"] == "queued"
    body = {**body, "name": "careful", "approval": {"manual": "always"}}
    assert api.post("/api/v1/actions", json=body).status_code == 201
    careful = api.post("/api/v1/actions/careful/runs", json={}).json()
    assert careful["state"] == "awaiting_confirmation"


def test_people_approve_as_themselves_whatever_credential_they_use(
    api: Api, people: People
) -> None:
    action(api, approvers=["role:operator", "user:root"])
    olga = people.browser("olga")
    run = olga.post("/api/v1/actions/restart/runs", json={"params": {"service": "checkout"}})
    assert run.status_code == 201, run.text
    run_id, pin = run.json()["id"], run.json()["pin_hash"]
    assert run.json()["requested_by"] == "user:olga"
    # Olga's own token is still Olga: the requester may not approve.
    made = olga.post("/api/v1/tokens", json={"name": "olga-cli", "scopes": ["write"]})
    assert made.status_code == 201, made.text
    olga_token = api.as_(made.json()["token"])
    refused = approve(olga_token, run_id, pin)
    assert refused.status_code == 403 and "requester" in refused.text
    # A viewer lacks the permission; an operator is on the list.
    assert (
        people.browser("vera").post(f"/api/v1/runs/{run_id}/approve", json={"pin": pin}).status_code
        == 403
    )
    people.add("otto", "operator")
    otto = people.browser("otto")
    done = otto.post(f"/api/v1/runs/{run_id}/approve", json={"pin": pin, "comment": "ok"})
    assert done.status_code == 200, done.text
    assert done.json()["approvals"][0]["actor"] == "user:otto"
    assert api.get(f"/api/v1/runs/{run_id}").json()["state"] == "queued"
