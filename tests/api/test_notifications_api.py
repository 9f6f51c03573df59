"""The notification and on-call API: channel URLs never come back, the iCal feed parses,
who is on call now and next, and overrides."""

from __future__ import annotations

from fastapi import FastAPI
from icalendar import Calendar

from sophrosyne.executors.notify import FakeNotifier
from tests.api.helpers import Api

SECRET = "T000/B000/XXXXsecretXXXX"


def test_channel_urls_are_write_only_and_test_send_records(app: FastAPI, api: Api) -> None:
    app.state.sophrosyne.keyring = __import__("sophrosyne.crypto", fromlist=["Keyring"]).Keyring(
        b"k" * 32
    )
    fake = FakeNotifier()
    app.state.sophrosyne.notifier = fake
    assert api.post("/api/v1/channels", json={"name": "slack"}).status_code == 201
    refused = api.post("/api/v1/channels", json={"name": "x", "url": f"slack://{SECRET}"})
    assert refused.status_code == 422 and "url_env" in refused.text
    r = api.put("/api/v1/channels/slack/urls", json={"urls": [f"slack://{SECRET}"]})
    assert r.status_code == 200, r.text
    assert r.json()["has_urls"] is True
    r = api.post("/api/v1/channels/slack/test")
    assert r.status_code == 200 and r.json()["status"] == "sent"
    assert fake.requests[0].urls[0].reveal() == f"slack://{SECRET}"
    for url in (
        "/api/v1/channels",
        "/api/v1/channels/slack",
        "/api/v1/notifications",
        "/api/v1/audit?limit=500",
    ):
        assert SECRET not in api.get(url).text, url
    route = {"name": "all", "channels": ["slack"], "matchers": ["bad matcher"]}
    r = api.post("/api/v1/notification-routes", json=route)
    assert r.status_code == 422 and "matchers" in r.text


def test_schedule_now_next_overrides_and_ics(api: Api) -> None:
    spec = {
        "name": "primary",
        "time_zone": "Europe/Paris",
        "layers": [{"users": ["alice", "bob"], "start": "2026-03-23", "rotation": "weekly"}],
    }
    assert api.post("/api/v1/schedules", json=spec).status_code == 201
    r = api.get("/api/v1/schedules/primary/oncall", params={"at": "2026-03-25T12:00:00Z"})
    body = r.json()
    assert (body["user"], body["next_user"]) == ("alice", "bob")
    assert body["next_start"].startswith("2026-03-30T07:00:00")
    override = {
        "user": "carol",
        "starts_at": "2026-03-25T00:00:00Z",
        "ends_at": "2026-03-26T00:00:00Z",
    }
    assert api.post("/api/v1/schedules/primary/overrides", json=override).status_code == 201
    r = api.get("/api/v1/schedules/primary/oncall", params={"at": "2026-03-25T12:00:00Z"})
    assert (r.json()["user"], r.json()["layer"], r.json()["next_user"]) == (
        "carol",
        "override",
        "alice",
    )
    r = api.get("/api/v1/schedules/primary/calendar.ics", params={"days": 21})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(r.content).walk() if c.name == "VEVENT"]
    assert events and all(str(e["summary"]).startswith("On call: ") for e in events)
    assert api.get("/api/v1/schedules/nope/calendar.ics").status_code == 404


def test_file_managed_channels_and_schedules_are_read_only(app: FastAPI, api: Api) -> None:
    from datetime import UTC, datetime

    from sophrosyne.crypto import Keyring
    from sophrosyne.domains.notifications import service as notifications
    from sophrosyne.domains.notifications.models import Channel
    from sophrosyne.domains.notifications.schemas import ChannelSpec
    from sophrosyne.domains.oncall import service as oncall
    from sophrosyne.domains.oncall.schemas import ScheduleSpec

    state = app.state.sophrosyne
    state.keyring = Keyring(b"k" * 32)
    now = datetime(2026, 3, 25, tzinfo=UTC)
    schedule = ScheduleSpec.model_validate(
        {"name": "filed", "layers": [{"users": ["alice"], "start": "2026-03-23"}]}
    )
    with state.session_factory() as session:
        for_file = {"now": now, "managed_by": "file", "source_file": "n.yaml"}
        notifications.create(session, Channel, ChannelSpec(name="filed"), **for_file)
        oncall.create(session, schedule, **for_file)
        session.commit()
    r = api.put("/api/v1/channels/filed/urls", json={"urls": ["json://127.0.0.1:9/x"]})
    assert r.status_code == 409 and "managed by file" in r.text
    assert api.delete("/api/v1/channels/filed/urls").status_code == 409
    assert api.put("/api/v1/channels/filed", json={"name": "filed"}).status_code == 409
    assert api.delete("/api/v1/schedules/filed").status_code == 409
    # Covering a shift stays possible: overrides are not part of the file's definition.
    override = {"user": "bob", "starts_at": "2026-03-25T00:00:00Z", "ends_at": "2026-03-26T00:00Z"}
    assert api.post("/api/v1/schedules/filed/overrides", json=override).status_code == 201
