"""Actions and rules through the API: CRUD, read-only file-managed objects, audit, manual runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs.models import Run
from tests.api.helpers import Api, loc_of, restart_action, restart_rule


def test_action_crud_and_audit(api: Api) -> None:
    r = api.post("/api/v1/actions", json=restart_action(description="restart a unit"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["managed_by"] == "api" and created["parameters"][0]["name"] == "service"

    assert api.post("/api/v1/actions", json=restart_action()).status_code == 409
    assert [a["name"] for a in api.get("/api/v1/actions").json()] == ["restart"]
    assert api.get("/api/v1/actions/restart").json()["description"] == "restart a unit"
    assert api.get("/api/v1/actions/nope").status_code == 404

    r = api.put("/api/v1/actions/restart", json=restart_action(timeout_seconds=5))
    assert r.status_code == 200 and r.json()["timeout_seconds"] == 5
    renamed = api.put("/api/v1/actions/restart", json=restart_action(name="other"))
    assert renamed.status_code == 409

    assert api.delete("/api/v1/actions/restart").status_code == 204
    assert api.get("/api/v1/actions/restart").status_code == 404
    assert api.delete("/api/v1/actions/restart").status_code == 404

    entries = api.get("/api/v1/audit", params={"object_type": "action"}).json()["items"]
    assert [e["action"] for e in entries] == ["action.deleted", "action.updated", "action.created"]
    assert all(e["actor"] == "token:writer" and e["object_id"] == "restart" for e in entries)
    assert entries[1]["detail"]["timeout_seconds"] == 5


def test_invalid_action_names_the_field(api: Api) -> None:
    bad = restart_action(argv=["echo", "{{ params.nope }}"])
    r = api.post("/api/v1/actions", json=bad)
    assert r.status_code == 422
    assert "nope" in r.json()["detail"][0]["msg"]
    assert ["name"] in loc_of(api.post("/api/v1/actions", json=restart_action(name="Bad Name")))


def test_rule_crud_and_unknown_action(api: Api) -> None:
    r = api.post("/api/v1/rules", json=restart_rule())
    assert loc_of(r) == [["action"]]
    assert "restart" in r.json()["detail"][0]["msg"]

    api.post("/api/v1/actions", json=restart_action())
    r = api.post("/api/v1/rules", json=restart_rule())
    assert r.status_code == 201, r.text
    assert r.json()["action"] == "restart" and r.json()["mode"] == "auto"
    assert [x["name"] for x in api.get("/api/v1/rules").json()] == ["restart-checkout"]

    r = api.put("/api/v1/rules/restart-checkout", json=restart_rule(mode="confirm"))
    assert r.status_code == 200 and r.json()["mode"] == "confirm"
    assert api.get("/api/v1/rules/restart-checkout").json()["mode"] == "confirm"

    assert api.delete("/api/v1/actions/restart").status_code == 409  # in use by the rule
    assert api.delete("/api/v1/rules/restart-checkout").status_code == 204
    assert api.get("/api/v1/rules/restart-checkout").status_code == 404

    bad_matcher = restart_rule(matchers=['service=~"("'])
    assert ["matchers"] in loc_of(api.post("/api/v1/rules", json=bad_matcher))

    actions_seen = [e["action"] for e in api.get("/api/v1/audit").json()["items"]]
    assert actions_seen == ["rule.deleted", "rule.updated", "rule.created", "action.created"]


@pytest.fixture
def file_managed(session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with session_factory.begin() as s:
        actions.create(
            s,
            ActionSpec.model_validate(restart_action()),
            now=now,
            managed_by="file",
            source_file="actions.yaml",
        )
        rules.create(
            s,
            RuleSpec.model_validate(restart_rule()),
            now=now,
            managed_by="file",
            source_file="rules.yaml",
        )


@pytest.mark.usefixtures("file_managed")
def test_file_managed_objects_are_read_only(api: Api) -> None:
    assert api.get("/api/v1/actions/restart").json()["managed_by"] == "file"
    for r in (
        api.put("/api/v1/actions/restart", json=restart_action(timeout_seconds=9)),
        api.delete("/api/v1/actions/restart"),
        api.put("/api/v1/rules/restart-checkout", json=restart_rule(mode="confirm")),
        api.delete("/api/v1/rules/restart-checkout"),
    ):
        assert r.status_code == 409, r.text
        assert "config" in r.json()["detail"]
    assert api.get("/api/v1/actions/restart").json()["timeout_seconds"] == 60
    assert api.get("/api/v1/audit").json()["items"] == []
    # Reading and running a file-managed action is fine.
    assert (
        api.post("/api/v1/actions/restart/runs", json={"params": {"service": "web"}}).status_code
        == 201
    )


def test_manual_run(api: Api, enqueued: list[list[int]]) -> None:
    api.post("/api/v1/actions", json=restart_action())
    r = api.post("/api/v1/actions/restart/runs", json={"params": {"service": "web"}})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["state"] == "queued" and run["argv"] == ["systemctl", "restart", "web"]
    assert run["requested_by"] == "token:writer" and run["params"] == {"service": "web"}
    assert enqueued == [[run["id"]]]
    audit = api.get("/api/v1/audit", params={"action": "run.requested"}).json()["items"]
    assert [e["object_id"] for e in audit] == [str(run["id"])]
    assert api.post("/api/v1/actions/nope/runs", json={"params": {}}).status_code == 404


def test_manual_run_parameter_errors_name_the_parameter(
    api: Api, session_factory: sessionmaker[Session], enqueued: list[list[int]]
) -> None:
    api.post("/api/v1/actions", json=restart_action())
    r = api.post("/api/v1/actions/restart/runs", json={"params": {"service": "Web Server"}})
    assert loc_of(r) == [["params", "service"]]
    assert "pattern" in r.json()["detail"][0]["msg"]
    assert loc_of(api.post("/api/v1/actions/restart/runs", json={"params": {}})) == [
        ["params", "service"]
    ]
    r = api.post("/api/v1/actions/restart/runs", json={"params": {"service": "a", "x": "1"}})
    assert loc_of(r) == [["params", "x"]]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 0
    assert enqueued == []


@pytest.mark.parametrize("value", ["; rm -rf /", "$(id)", "`id`", "a\nb", "--force", "x' \"y"])
def test_parameters_stay_single_literal_arguments(
    api: Api, session_factory: sessionmaker[Session], value: str
) -> None:
    action = {
        "name": "echo",
        "argv": ["echo", "--", "{{ params.text }}", "end"],
        "parameters": [{"name": "text"}],
    }
    assert api.post("/api/v1/actions", json=action).status_code == 201
    r = api.post("/api/v1/actions/echo/runs", json={"params": {"text": value}})
    assert r.status_code == 201, r.text
    assert r.json()["argv"] == ["echo", "--", value, "end"]
    with session_factory() as s:
        stored = s.scalars(select(Run)).one()
    assert stored.argv == ["echo", "--", value, "end"]


def test_rule_parameters_must_fit_the_action(api: Api) -> None:
    assert api.post("/api/v1/actions", json=restart_action()).status_code == 201
    typo = restart_rule(parameters={"servce": "{{ labels.service }}"})
    r = api.post("/api/v1/rules", json=typo)
    assert r.status_code == 422
    locs = {tuple(d["loc"]) for d in r.json()["detail"]}
    # The unknown name, and the required parameter it left out, are both named.
    assert locs == {("parameters", "servce"), ("parameters",)}
    bad_literal = restart_rule(parameters={"service": "NOT VALID"})
    r = api.post("/api/v1/rules", json=bad_literal)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["parameters", "service"]
    assert api.get("/api/v1/rules").json() == []
