"""Silences over HTTP: create, list by state, look up, expire, audit, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.helpers import AM_URL, Api, Tokens, restart_action, restart_rule


def _iso(at: datetime) -> str:
    return at.isoformat()


def test_create_list_expire_and_audit(api: Api, tokens: Tokens) -> None:
    now = datetime.now(UTC)
    body = {
        "matchers": ['alertname="HighErrorRate"'],
        "comment": "maintenance",
        "ends_at": _iso(now + timedelta(hours=1)),
    }
    r = api.post("/api/v1/silences", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["state"], created["author"]) == ("active", "token:writer")
    pending = api.post(
        "/api/v1/silences",
        json={
            **body,
            "starts_at": _iso(now + timedelta(hours=1)),
            "ends_at": _iso(now + timedelta(hours=2)),
        },
    ).json()
    assert pending["state"] == "pending"
    reader = api.as_(tokens.read)
    assert [s["id"] for s in reader.get("/api/v1/silences?state=active").json()] == [created["id"]]
    assert [s["id"] for s in reader.get("/api/v1/silences?state=pending").json()] == [pending["id"]]
    assert reader.post(f"/api/v1/silences/{created['id']}/expire").status_code == 403

    r = api.post(f"/api/v1/silences/{created['id']}/expire")
    assert r.status_code == 200 and r.json()["state"] == "expired"
    assert api.post(f"/api/v1/silences/{created['id']}/expire").status_code == 409
    assert api.get(f"/api/v1/silences/{created['id']}").json()["state"] == "expired"
    assert api.get("/api/v1/silences/999").status_code == 404
    actions = [e["action"] for e in api.get("/api/v1/audit").json()["items"]]
    assert actions.count("silences.created") == 2 and "silences.expired" in actions


def test_bad_matcher_is_refused_naming_the_field(api: Api) -> None:
    r = api.post(
        "/api/v1/silences",
        json={
            "matchers": ['alertname="X"', "bad matcher"],
            "comment": "x",
            "ends_at": _iso(datetime.now(UTC) + timedelta(hours=1)),
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["matchers", 1]


def test_silenced_alert_over_http_records_the_decision(api: Api, firing_payload: bytes) -> None:
    api.post("/api/v1/actions", json=restart_action())
    api.post("/api/v1/rules", json=restart_rule())
    silence = api.post(
        "/api/v1/silences",
        json={
            "matchers": ['alertname="HighErrorRate"'],
            "comment": "known",
            "ends_at": _iso(datetime.now(UTC) + timedelta(hours=1)),
        },
    ).json()
    reply = api.post_raw(AM_URL, firing_payload).json()
    assert reply["runs_enqueued"] == 0 and reply["runs_awaiting_confirmation"] == 0
    alert_id = api.get("/api/v1/alerts").json()["items"][0]["id"]
    detail = api.get(f"/api/v1/alerts/{alert_id}").json()
    assert detail["runs"] == []
    [decision] = detail["decisions"]
    assert decision["outcome"] == "silenced"
    assert f"silence {silence['id']} by token:writer: known" == decision["detail"]


def test_what_each_silence_matched_and_which_end_soon(api: Api, tokens: Tokens) -> None:
    """A silence made before its alert fired held that episode back; one made while an alert
    already fires holds it back from then on (no decision, but it matches it firing); one
    whose matcher has a typo matched nothing. ``expiring_within`` keeps those ending soon."""
    now = datetime.now(UTC)

    def silence(matcher: str, hours: int) -> int:
        body = {
            "matchers": [matcher],
            "comment": "c",
            "ends_at": _iso(now + timedelta(hours=hours)),
        }
        reply = api.post("/api/v1/silences", json=body)
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"])

    def fire(name: str) -> None:
        alert = {"labels": {"alertname": name, "instance": "db1"}, "status": "firing"}
        assert api.post("/api/v1/alerts", json=alert).status_code == 200

    before = silence('alertname="DiskFull"', 1)
    fire("DiskFull")
    fire("CpuHigh")
    during = silence('alertname="CpuHigh"', 5)
    typo = silence('alertname="DiskFul"', 1)
    listed = {s["id"]: s for s in api.as_(tokens.read).get("/api/v1/silences").json()}
    facts = {
        i: (s["held_back"], s["firing_matched"], s["matched_nothing"]) for i, s in listed.items()
    }
    assert facts == {before: (1, 1, False), during: (0, 1, False), typo: (0, 0, True)}
    assert 3000 < listed[before]["expires_in_seconds"] <= 3600
    nothing = api.get("/api/v1/silences?matched_nothing=true").json()
    assert [s["id"] for s in nothing] == [typo]
    soon = api.get("/api/v1/silences?expiring_within=7200").json()
    assert sorted(s["id"] for s in soon) == sorted([before, typo])
    assert api.get(f"/api/v1/silences/{before}").json()["held_back"] == 1
    assert api.get("/api/v1/silences?expiring_within=0").status_code == 422
