"""Alert ingestion over HTTP: Alertmanager's webhook as sent, the generic API, bad input."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.alerts.fingerprint import label_fingerprint
from sophrosyne.domains.alerts.models import Alert, AlertEvent
from sophrosyne.domains.audit.models import AuditEntry
from sophrosyne.domains.runs.models import Run
from sophrosyne.metrics import Metrics
from tests.api.helpers import AM_URL, Api, loc_of, restart_action, restart_rule

GENERIC_URL = "/api/v1/alerts"


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _stored(factory: sessionmaker[Session]) -> dict[str, Alert]:
    with factory() as s:
        return {a.fingerprint: a for a in s.scalars(select(Alert))}


def test_alertmanager_fixture_accepted_as_sent(
    api: Api, firing_payload: bytes, session_factory: sessionmaker[Session]
) -> None:
    r = api.post_raw(AM_URL, firing_payload)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": 2,
        "created": 2,
        "updated": 0,
        "state_changes": 2,
        "runs_enqueued": 0,
        "runs_awaiting_confirmation": 0,
    }
    stored = _stored(session_factory)
    # Alertmanager's own fingerprints, verbatim.
    assert set(stored) == {"a935abeedce20cc4", "3778d00114beb8b9"}
    a = stored["a935abeedce20cc4"]
    assert a.source == "alertmanager" and a.status == "firing" and a.severity == "critical"
    assert a.labels["instance"] == "10.0.0.1:8080"
    assert a.annotations["summary"] == "5xx ratio above 5% on 10.0.0.1:8080"
    assert a.ends_at is None  # Alertmanager's 0001-01-01 means "no time"
    assert a.starts_at is not None and a.starts_at.year == 2026
    with session_factory() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "alerts.ingested")).one()
    assert entry.actor == "token:writer"
    assert entry.detail["source"] == "alertmanager"
    assert entry.detail["receiver"] == "sink"
    assert entry.detail["groupKey"].startswith("{}/{fixture=")
    assert entry.detail["truncatedAlerts"] == 0


def test_resend_dedupes_and_resolved_resolves(
    api: Api, firing_payload: bytes, resolved_payload: bytes, session_factory: sessionmaker[Session]
) -> None:
    assert api.post_raw(AM_URL, firing_payload).status_code == 200
    r = api.post_raw(AM_URL, firing_payload)
    assert r.json()["created"] == 0 and r.json()["updated"] == 2
    assert r.json()["state_changes"] == 0
    stored = _stored(session_factory)
    assert len(stored) == 2
    assert {a.occurrences for a in stored.values()} == {2}

    r = api.post_raw(AM_URL, resolved_payload)
    assert r.status_code == 200
    assert r.json()["state_changes"] == 2
    stored = _stored(session_factory)
    assert {a.status for a in stored.values()} == {"resolved"}
    assert stored["a935abeedce20cc4"].ends_at is not None
    assert _count(session_factory, AlertEvent) == 4  # two 'new', two 'resolved'


def test_annotations_do_not_change_the_fingerprint(
    api: Api, session_factory: sessionmaker[Session]
) -> None:
    labels = {"alertname": "DiskFull", "host": "db1"}
    for summary in ("90% full", "95% full"):
        r = api.post(GENERIC_URL, json={"labels": labels, "annotations": {"summary": summary}})
        assert r.status_code == 200, r.text
    stored = _stored(session_factory)
    assert list(stored) == [label_fingerprint(labels)]
    only = stored[label_fingerprint(labels)]
    assert only.occurrences == 2 and only.annotations == {"summary": "95% full"}


def test_firing_webhook_enqueues_exactly_one_run(
    api: Api,
    firing_payload: bytes,
    session_factory: sessionmaker[Session],
    enqueued: list[list[int]],
) -> None:
    assert api.post("/api/v1/actions", json=restart_action()).status_code == 201
    assert api.post("/api/v1/rules", json=restart_rule()).status_code == 201
    replies = [api.post_raw(AM_URL, firing_payload).json() for _ in range(3)]
    assert [r["runs_enqueued"] for r in replies] == [1, 0, 0]
    with session_factory() as s:
        runs = list(s.scalars(select(Run)))
    assert len(runs) == 1
    run = runs[0]
    assert run.state == "queued" and run.argv == ["systemctl", "restart", "checkout"]
    assert run.requested_by == "rule:restart-checkout"
    assert enqueued == [[run.id]]


def test_confirm_mode_rule_waits_for_confirmation(
    api: Api, firing_payload: bytes, enqueued: list[list[int]]
) -> None:
    api.post("/api/v1/actions", json=restart_action())
    assert api.post("/api/v1/rules", json=restart_rule(mode="confirm")).status_code == 201
    r = api.post_raw(AM_URL, firing_payload)
    assert r.json()["runs_enqueued"] == 0 and r.json()["runs_awaiting_confirmation"] == 1
    runs = api.get("/api/v1/runs").json()["items"]
    assert [x["state"] for x in runs] == ["awaiting_confirmation"]
    assert enqueued == []  # nothing for a worker to do yet


def test_template_error_is_recorded_as_a_decision(
    api: Api, firing_payload: bytes, session_factory: sessionmaker[Session]
) -> None:
    api.post("/api/v1/actions", json=restart_action())
    rule = restart_rule(parameters={"service": "{{ labels.team }}"})
    assert api.post("/api/v1/rules", json=rule).status_code == 201
    r = api.post_raw(AM_URL, firing_payload)
    assert r.status_code == 200 and r.json()["runs_enqueued"] == 0
    assert _count(session_factory, Run) == 0
    alert = api.get("/api/v1/alerts", params={"fingerprint": "a935abeedce20cc4"}).json()
    detail = api.get(f"/api/v1/alerts/{alert['items'][0]['id']}").json()
    assert detail["runs"] == []
    [decision] = detail["decisions"]
    assert decision["outcome"] == "template_error"
    assert decision["rule_name"] == "restart-checkout"
    assert "team" in decision["detail"] and "parameters.service" in decision["detail"]


def test_generic_single_and_batch(api: Api, session_factory: sessionmaker[Session]) -> None:
    one = {"labels": {"alertname": "Down", "host": "a"}, "severity": "page", "fingerprint": "x-1"}
    r = api.post(GENERIC_URL, json=one)
    assert r.status_code == 200 and r.json()["created"] == 1
    batch = [
        {"labels": {"alertname": "Down", "host": "b"}},
        {"labels": {"alertname": "Down", "host": "c"}, "status": "resolved"},
    ]
    r = api.post(GENERIC_URL, json=batch)
    assert r.status_code == 200 and r.json()["received"] == 2
    stored = _stored(session_factory)
    assert stored["x-1"].severity == "page" and stored["x-1"].source == "generic"
    assert len(stored) == 3


def test_generic_batch_is_all_or_nothing(api: Api, session_factory: sessionmaker[Session]) -> None:
    batch = [
        {"labels": {}},
        {"labels": {"alertname": "Fine"}},
        {"labels": {"alertname": "Bad"}, "status": "exploded"},
    ]
    r = api.post(GENERIC_URL, json=batch)
    locs = loc_of(r)
    assert [0, "labels"] in locs and [2, "status"] in locs
    assert not any(loc[0] == 1 for loc in locs)
    assert all(e["type"] and e["msg"] for e in r.json()["detail"])
    assert _count(session_factory, Alert) == 0
    assert _count(session_factory, AuditEntry) == 0


def test_generic_refuses_empty_array_and_scalars(api: Api) -> None:
    assert loc_of(api.post(GENERIC_URL, json=[])) == [["body"]]
    assert loc_of(api.post(GENERIC_URL, json="alert")) == [["body"]]
    assert ["unknown"] in loc_of(api.post(GENERIC_URL, json={"labels": {"a": "b"}, "unknown": 1}))


def _am(firing_payload: bytes, **changes: object) -> dict[str, object]:
    payload: dict[str, object] = orjson.loads(firing_payload)
    payload.update(changes)
    return payload


def test_alertmanager_bad_inputs_are_422_and_store_nothing(
    api: Api, firing_payload: bytes, session_factory: sessionmaker[Session], metrics: Metrics
) -> None:
    r = api.post_raw(AM_URL, b'{"version": "4", "alerts": [')
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body"] and "JSON" in err["msg"] and err["type"] == "json_invalid"

    assert ["version"] in loc_of(api.post(AM_URL, json=_am(firing_payload, version="3")))

    payload = _am(firing_payload)
    del payload["alerts"][0]["labels"]  # type: ignore[index]
    assert ["alerts", 0, "labels"] in loc_of(api.post(AM_URL, json=payload))

    payload = _am(firing_payload)
    payload["alerts"][1]["labels"]["replica"] = 3  # type: ignore[index]
    assert ["alerts", 1, "labels", "replica"] in loc_of(api.post(AM_URL, json=payload))

    payload = _am(firing_payload)
    payload["alerts"][0]["status"] = "pending"  # type: ignore[index]
    assert ["alerts", 0, "status"] in loc_of(api.post(AM_URL, json=payload))

    assert ["body"] in loc_of(api.post_raw(AM_URL, b""))

    assert _count(session_factory, Alert) == 0
    assert _count(session_factory, AuditEntry) == 0
    rejected = metrics.registry.get_sample_value(
        "sophrosyne_ingest_rejected_total", {"source": "alertmanager"}
    )
    assert rejected == 6


def test_malformed_json_on_a_fastapi_body_route_mentions_json(api: Api) -> None:
    r = api.post_raw("/api/v1/actions", b'{"name": ')
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body"] and err["type"] == "json_invalid"
    assert "JSON" in err["msg"]


def test_body_over_the_limit_is_413(api: Api, session_factory: sessionmaker[Session]) -> None:
    big = [
        {"labels": {"alertname": "Big", "n": str(i)}, "annotations": {"x": "y" * 100}}
        for i in range(1000)
    ]
    r = api.post(GENERIC_URL, json=big)
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]

    # Chunked, without a Content-Length: counted as it arrives.
    def chunks() -> object:
        for _ in range(100):
            yield b" " * 1024

    r = api.post(GENERIC_URL, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert _count(session_factory, Alert) == 0
