"""Notifications end to end on both databases: routing, a real SMTP server and a real HTTP
receiver on loopback, failures and suppressions recorded with why, escalation timing with a
controllable clock, and secrets kept out of records."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring, Secret
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.notifications import escalation, records, service
from sophrosyne.domains.notifications.messages import Subject
from sophrosyne.domains.notifications.models import (
    Channel,
    EscalationPolicy,
    Notification,
    NotificationRoute,
)
from sophrosyne.domains.notifications.schemas import ChannelSpec, PolicySpec, RouteSpec
from sophrosyne.domains.oncall import service as oncall
from sophrosyne.domains.oncall.schemas import ScheduleSpec
from sophrosyne.executors.notify import AppriseNotifier, FakeNotifier
from sophrosyne.flows import notify
from tests.executors.httpd import Server
from tests.executors.smtpd import Mailbox, body_text

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TOKEN = "xoxb-SECRET-TOKEN-1234"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(os.urandom(32))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _settings(smtp_url: str | None = None) -> Settings:
    return Settings(
        database_url="sqlite://", public_url="https://sophrosyne.example", notify_smtp_url=smtp_url
    )


def _channel(session: Session, keyring: Keyring, name: str, *urls: str) -> Channel:
    row = service.create(session, Channel, ChannelSpec(name=name), now=T0)
    service.set_urls(session, keyring, row, [Secret(u) for u in urls], now=T0)
    return row


def _subject(**kw: object) -> Subject:
    base: dict[str, object] = {
        "kind": "incident",
        "id": "42",
        "title": "Checkout is down",
        "severity": "critical",
        "labels": {"service": "checkout", "team": "web"},
    }
    return Subject(**(base | kw))  # type: ignore[arg-type]


def test_routes_deliver_to_real_smtp_and_webhook_and_record_every_outcome(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    clock: Clock,
    smtp: Mailbox,
    server: Server,
) -> None:
    port = server.base.rsplit(":", 1)[1]
    with session_factory.begin() as s:
        _channel(s, keyring, "mail", smtp.url("web-team@example.org"))
        _channel(s, keyring, "hook", f"json://127.0.0.1:{port}/hook?token={TOKEN}")
        _channel(s, keyring, "broken", f"json://127.0.0.1:{port}/status/500?token={TOKEN}")
        for spec in (
            RouteSpec(name="web", matchers=['team="web"'], channels=["mail", "hook", "broken"]),
            RouteSpec(name="db", matchers=['team="db"'], channels=["mail"]),
            RouteSpec(
                name="pages",
                min_severity="critical",
                channels=["hook"],
                title_template="PAGE {{ subject.title }}",
            ),
        ):
            service.create(s, NotificationRoute, spec, now=T0)
        notify.notify_subject(s, _subject(), settings=_settings(), now=clock())
    sent = notify.deliver_pending(
        session_factory, AppriseNotifier(), settings=_settings(), keyring=keyring, clock=clock
    )
    assert sent == 3  # routes go by name: "pages" takes hook first, "web" has mail and broken

    [mail] = smtp.wait(1)
    assert mail["Subject"] == "[CRITICAL] Checkout is down"
    text = body_text(mail)
    assert "Incident 42 is triggered" in text
    assert "https://sophrosyne.example/incidents/42" in text
    assert "service=checkout" in text
    [hook] = [r for r in server.requests if r.path.startswith("/hook")]
    payload = json.loads(hook.body)
    assert payload["title"] == "PAGE Checkout is down"  # the route's own template
    assert "https://sophrosyne.example/incidents/42" in payload["message"]

    with session_factory.begin() as s:
        notes = {(n.route, n.channel): n for n in records.for_subject(s, "incident", "42")}
    assert notes[("web", "mail")].status == "sent"
    assert notes[("pages", "hook")].status == "sent"
    assert ("web", "hook") not in notes  # one message per channel and event
    broken = notes[("web", "broken")]
    assert broken.status == "failed" and "500" in (broken.reason or "")
    assert TOKEN not in (broken.reason or "")
    skipped = notes[("db", None)]
    assert skipped.status == "suppressed" and 'team="db"' in (skipped.reason or "")


def test_min_severity_suppresses_with_the_reason(
    session_factory: sessionmaker[Session], keyring: Keyring, clock: Clock
) -> None:
    with session_factory.begin() as s:
        _channel(s, keyring, "hook", "json://127.0.0.1:9/x")
        service.create(
            s,
            NotificationRoute,
            RouteSpec(name="r", min_severity="error", channels=["hook"]),
            now=T0,
        )
        [note] = notify.notify_subject(
            s, _subject(severity="warning"), settings=_settings(), now=T0
        )
        assert note.status == "suppressed"
        assert note.reason == "route r: severity warning is below error"


def test_channel_urls_from_the_environment_and_test_send(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_URL", f"json://127.0.0.1:9/x?token={TOKEN}")
    with session_factory.begin() as s:
        service.create(s, Channel, ChannelSpec(name="env", url_env="HOOK_URL"), now=T0)
    fake = FakeNotifier()
    note = notify.test_channel(
        session_factory, fake, "env", settings=_settings(), keyring=keyring, clock=clock
    )
    assert note.status == "sent" and note.event == "test"
    assert [u.reveal() for u in fake.requests[0].urls] == [f"json://127.0.0.1:9/x?token={TOKEN}"]
    with session_factory.begin() as s:
        row = service.get(s, Channel, "env")
        assert TOKEN not in service.channel_out(row).model_dump_json()


def _people_and_policy(s: Session, keyring: Keyring, *, repeat: int = 1) -> None:
    for name, email in (("alice", "alice@example.org"), ("bob", "bob@example.org")):
        s.add(
            User(
                username=name,
                display_name=name,
                email=email,
                role="operator",
                password_hash="x",
                created_at=T0,
                updated_at=T0,
            )
        )
    oncall.create(
        s,
        ScheduleSpec.model_validate(
            {
                "name": "primary",
                "time_zone": "Europe/Paris",
                "layers": [
                    {"users": ["alice", "bob"], "start": "2026-11-16", "rotation": "weekly"}
                ],
            }
        ),
        now=T0,
    )
    _channel(s, keyring, "ops", "json://127.0.0.1:9/ops")
    service.create(
        s,
        EscalationPolicy,
        PolicySpec.model_validate(
            {
                "name": "default",
                "repeat": repeat,
                "steps": [
                    {"notify": {"schedule": "primary"}, "wait_seconds": 300},
                    {"notify": {"user": "bob"}, "wait_seconds": 600},
                    {"notify": {"channel": "ops"}, "wait_seconds": 900},
                ],
            }
        ),
        now=T0,
    )


def _tick(session_factory: sessionmaker[Session], clock: Clock, **kw: object) -> list[tuple]:
    with session_factory.begin() as s:
        fired = notify.advance_escalations(s, now=clock(), settings=_settings(), **kw)  # type: ignore[arg-type]
        return [(n.channel, n.recipient, n.step, n.status) for n in fired]


def test_escalation_fires_each_step_on_time_repeats_and_stops_when_exhausted(
    session_factory: sessionmaker[Session], keyring: Keyring, clock: Clock, smtp: Mailbox
) -> None:
    with session_factory.begin() as s:
        _people_and_policy(s, keyring, repeat=1)
        escalation.start(s, _subject(), "default", now=clock())
    assert _tick(session_factory, clock) == [("email", "alice", 0, "pending")]  # on call now
    clock.tick(299)
    assert _tick(session_factory, clock) == []
    clock.tick(1)
    assert _tick(session_factory, clock) == [("email", "bob", 1, "pending")]
    clock.tick(599)
    assert _tick(session_factory, clock) == []
    clock.tick(1)
    assert _tick(session_factory, clock) == [("ops", None, 2, "pending")]
    clock.tick(900)  # second pass
    assert _tick(session_factory, clock) == [("email", "alice", 0, "pending")]
    clock.tick(300)
    assert _tick(session_factory, clock) == [("email", "bob", 1, "pending")]
    clock.tick(600)
    assert _tick(session_factory, clock) == [("ops", None, 2, "pending")]
    clock.tick(3600)
    assert _tick(session_factory, clock) == []
    with session_factory.begin() as s:
        state = escalation.find(s, "incident", "42")
        assert state is not None and state.status == "exhausted"

    # The e-mails really go out through the SMTP server, to the right people.
    settings = _settings(smtp.url("placeholder@example.org"))
    notify.deliver_pending(
        session_factory, AppriseNotifier(), settings=settings, keyring=keyring, clock=clock
    )
    mails = smtp.wait(4)
    assert sorted(to for _, [to] in smtp.envelopes) == [
        "alice@example.org",
        "alice@example.org",
        "bob@example.org",
        "bob@example.org",
    ]
    assert "escalation step 1, pass 1" in body_text(mails[0])
    with session_factory.begin() as s:
        ops = [n for n in records.for_subject(s, "incident", "42") if n.channel == "ops"]
        assert [n.status for n in ops] == ["failed", "failed"]  # nothing listens on port 9


def test_escalation_stops_when_acknowledged(
    session_factory: sessionmaker[Session], keyring: Keyring, clock: Clock
) -> None:
    acked: set[str] = set()
    with session_factory.begin() as s:
        _people_and_policy(s, keyring)
        escalation.start(s, _subject(), "default", now=clock())
        escalation.start(s, _subject(id="43"), "default", now=clock())
    assert len(_tick(session_factory, clock)) == 2
    acked.add("42")  # the caller knows incident 42 was acknowledged meanwhile
    clock.tick(300)
    fired = _tick(session_factory, clock, is_acknowledged=lambda subj: subj.id in acked)
    assert fired == [("email", "bob", 1, "pending")]  # only for 43
    with session_factory.begin() as s:
        escalation.note_status(s, _subject(id="43", status="resolved"), now=clock())
        assert escalation.find(s, "incident", "42").status == "acknowledged"  # type: ignore[union-attr]
        assert escalation.find(s, "incident", "43").status == "resolved"  # type: ignore[union-attr]
    clock.tick(3600)
    assert _tick(session_factory, clock) == []
    with session_factory.begin() as s:
        assert len(s.query(Notification).all()) == 3


def test_failures_to_reach_people_are_recorded(
    session_factory: sessionmaker[Session], keyring: Keyring, clock: Clock
) -> None:
    with session_factory.begin() as s:
        _people_and_policy(s, keyring)
        s.add(
            User(
                username="nomail",
                display_name="n",
                role="viewer",
                password_hash="x",
                created_at=T0,
                updated_at=T0,
            )
        )
        service.create(
            s,
            EscalationPolicy,
            PolicySpec.model_validate({"name": "p2", "steps": [{"notify": {"user": "nomail"}}]}),
            now=T0,
        )
        escalation.start(s, _subject(), "p2", now=clock())
    assert _tick(session_factory, clock) == [("email", "nomail", 0, "failed")]
    with session_factory.begin() as s:
        escalation.start(s, _subject(id="7"), "default", now=clock())
    _tick(session_factory, clock)
    # No SMTP server configured: the pending e-mail fails with the setting to set.
    notify.deliver_pending(
        session_factory, FakeNotifier(), settings=_settings(), keyring=keyring, clock=clock
    )
    with session_factory.begin() as s:
        [note] = records.for_subject(s, "incident", "7")
        assert note.status == "failed" and "SOPHROSYNE_NOTIFY_SMTP_URL" in (note.reason or "")
