"""Maintenance windows over HTTP: create, list by state with next occurrences, replace, end
now, delete, audit; refusals naming the field; read-only when file-managed; an alert in a
window is stored with the decision and no run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.domains.maintenance.schemas import MaintenanceSpec
from tests.api.helpers import AM_URL, Api, Tokens, loc_of, restart_action, restart_rule

URL = "/api/v1/maintenance"


def _one_off(name: str = "db-work", **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": name,
        "comment": "disk swap",
        "targets": ["10.0.0.1"],
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        **extra,
    }


def test_create_list_update_end_delete_and_audit(api: Api, tokens: Tokens) -> None:
    r = api.post(URL, json=_one_off())
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["state"], made["author"], made["managed_by"]) == ("active", "token:writer", "api")
    assert len(made["next_occurrences"]) == 1
    nightly = {
        "name": "nightly",
        "comment": "backups",
        "matchers": ['job="backup"'],
        "recurrence": {
            "frequency": "weekly",
            "days": ["mon", "thu"],
            "start_time": "02:00",
            "duration_minutes": 60,
            "timezone": "Europe/Paris",
        },
    }
    r = api.post(URL, json=nightly)
    assert r.status_code == 201, r.text
    occurrences = r.json()["next_occurrences"]
    assert len(occurrences) == 5
    for o in occurrences:
        local = datetime.fromisoformat(o["starts_at"]).astimezone(ZoneInfo("Europe/Paris"))
        assert (local.strftime("%a %H:%M")) in ("Mon 02:00", "Thu 02:00")
    reader = api.as_(tokens.read)
    assert [w["name"] for w in reader.get(URL, params={"state": "active"}).json()] == ["db-work"]
    assert reader.get(f"{URL}/nightly").json()["recurrence"]["days"] == ["mon", "thu"]
    assert reader.post(f"{URL}/db-work/end").status_code == 403
    assert api.post(URL, json=_one_off()).status_code == 409  # the name is taken

    r = api.put(f"{URL}/db-work", json=_one_off(comment="disk swap, take two"))
    assert r.status_code == 200 and r.json()["comment"] == "disk swap, take two"
    r = api.post(f"{URL}/db-work/end")
    assert r.status_code == 200 and r.json()["state"] == "expired"
    assert api.post(f"{URL}/db-work/end").status_code == 409
    assert api.delete(f"{URL}/nightly").status_code == 204
    assert api.get(f"{URL}/nightly").status_code == 404
    actions = [e["action"] for e in api.get("/api/v1/audit").json()["items"]]
    for done in ("created", "updated", "ended", "deleted"):
        assert f"maintenance_window.{done}" in actions


def test_refusals_name_the_field(api: Api) -> None:
    assert loc_of(api.post(URL, json=_one_off(matchers=['job="x"', "not a matcher"]))) == [
        ["matchers", 1]
    ]
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert loc_of(api.post(URL, json=_one_off(ends_at=past))) == [["ends_at"]]
    assert loc_of(api.post(URL, json=_one_off(targets=[]))) == [["targets"]]
    weekly = _one_off(starts_at=None, ends_at=None)
    weekly["recurrence"] = {"frequency": "weekly", "start_time": "02:00", "duration_minutes": 5}
    assert loc_of(api.post(URL, json=weekly)) == [["recurrence", "days"]]
    weekly["recurrence"] |= {"days": ["mon"], "timezone": "Mars/Olympus"}
    assert loc_of(api.post(URL, json=weekly)) == [["recurrence", "timezone"]]


def test_file_managed_window_is_read_only(api: Api, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with session_factory.begin() as s:
        spec = MaintenanceSpec.model_validate(
            {
                "name": "from-file",
                "comment": "yaml",
                "targets": ["db-1"],
                "starts_at": now,
                "ends_at": now + timedelta(hours=1),
            }
        )
        maintenance.create(s, spec, now=now, managed_by="file", source_file="m.yaml")
    assert api.get(f"{URL}/from-file").json()["managed_by"] == "file"
    for r in (
        api.put(f"{URL}/from-file", json=_one_off("from-file")),
        api.post(f"{URL}/from-file/end"),
        api.delete(f"{URL}/from-file"),
    ):
        assert r.status_code == 409, r.text
        assert "read-only" in r.json()["detail"]
    assert api.get("/api/v1/audit").json()["items"] == []


def test_alert_in_a_window_over_http_records_the_decision(api: Api, firing_payload: bytes) -> None:
    api.post("/api/v1/actions", json=restart_action())
    api.post("/api/v1/rules", json=restart_rule(matchers=['alertname="HighErrorRate"']))
    api.post(URL, json=_one_off())
    reply = api.post_raw(AM_URL, firing_payload).json()
    # Two alerts: 10.0.0.1 is in the window, 10.0.0.2 is not.
    assert (reply["received"], reply["runs_enqueued"]) == (2, 1)
    alerts = api.get("/api/v1/alerts").json()["items"]
    held = next(a for a in alerts if a["labels"]["instance"] == "10.0.0.1:8080")
    detail = api.get(f"/api/v1/alerts/{held['id']}").json()
    assert detail["runs"] == []
    [decision] = detail["decisions"]
    assert decision["outcome"] == "maintenance"
    assert "maintenance window 'db-work'" in decision["detail"]
    assert "target 10.0.0.1 (instance=10.0.0.1:8080)" in decision["detail"]
