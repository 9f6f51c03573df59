"""Channels, notification routes, on-call schedules and escalation policies in config files:
located errors, cross-references, no URLs in files, and apply on both backends."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from sophrosyne.crypto import Secret, generate_key, load_keyring
from sophrosyne.domains.accounts import users
from sophrosyne.domains.accounts.schemas import UserCreate
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.notifications import service as notifications
from sophrosyne.domains.notifications.models import Channel, EscalationPolicy, NotificationRoute
from sophrosyne.domains.notifications.schemas import ChannelSpec, RouteSpec
from sophrosyne.domains.oncall import service as oncall
from sophrosyne.domains.oncall.schemas import OverrideSpec
from sophrosyne.errors import Conflict, ReadOnly
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import ConfigInvalid, check_dir, load_dir

SLACK = "slack://T000/B000/XXXXSECRETXXXX"
NOTIFY = """\
channels:
  - name: slack-ops
    url_env: TEST_SOPH_SLACK_URL
  - name: pager
    description: paging webhook
    url_file: pager.url
notification_routes:
  - name: critical-to-slack
    matchers: ['severity="critical"']
    channels: [slack-ops, pager]
schedules:
  - name: primary
    time_zone: Europe/Paris
    layers:
      - {name: week, users: [alice, bob], start: 2026-03-23, handoff: "09:00"}
escalation_policies:
  - name: default
    steps:
      - notify: {schedule: primary}
        wait_seconds: 300
      - notify: {user: alice}
      - notify: {channel: pager}
    repeat: 1
"""


@pytest.fixture(autouse=True)
def slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SOPH_SLACK_URL", SLACK)


def config(tmp_path: Path, text: str = NOTIFY, url: str | None = "json://127.0.0.1:9/hook") -> Path:
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    (directory / "notify.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    if url is not None:
        (directory / "pager.url").write_text(f"# the pager\n{url}\n", encoding="utf-8")
    return directory


def add_users(session: Session, now: datetime, *names: str) -> None:
    for name in names:
        spec = UserCreate(
            username=name, email=f"{name}@example.org", password=SecretStr("a long password 1!")
        )
        users.create_user(session, spec, now=now)
    session.commit()


def test_sections_load_and_validate(tmp_path: Path) -> None:
    bundle, report = check_dir(config(tmp_path))
    assert report.ok, [str(p) for p in report.errors]
    assert [c.spec.name for c in bundle.channels] == ["slack-ops", "pager"]
    assert [r.spec.name for r in bundle.notification_routes] == ["critical-to-slack"]
    assert [s.spec.name for s in bundle.schedules] == ["primary"]
    assert bundle.escalation_policies[0].spec.repeat == 1
    assert bundle.channels[1].source_file == "notify.yaml"


def test_unknown_names_are_errors_with_their_place(tmp_path: Path) -> None:
    text = (
        NOTIFY.replace("channels: [slack-ops, pager]", "channels: [slack-ops, nope]")
        .replace("{schedule: primary}", "{schedule: secondary}")
        .replace("{channel: pager}", "{channel: gone}")
    )
    _bundle, report = check_dir(config(tmp_path, text))
    found = {(p.line, p.where): p.message for p in report.errors}
    assert found == {
        (10, "notification_routes[0].channels[1]"): "no channel named 'nope'",
        (19, "escalation_policies[0].steps[0].notify.schedule"): "no schedule named 'secondary'",
        (22, "escalation_policies[0].steps[2].notify.channel"): "no channel named 'gone'",
    }


def test_schema_and_route_errors_are_located(tmp_path: Path) -> None:
    text = (
        NOTIFY.replace("time_zone: Europe/Paris", "time_zone: Mars/Olympus")
        .replace("['severity=\"critical\"']", "['oops']")
        .replace("wait_seconds: 300", "wait_seconds: -1")
        .replace("    matchers:", "    title_template: '{{ oops'\n    matchers:")
    )
    _bundle, report = check_dir(config(tmp_path, text))
    where = {p.where for p in report.errors}
    assert where == {
        "notification_routes[0].title_template",
        "notification_routes[0].matchers[0]",
        "schedules[0].time_zone",
        "escalation_policies[0].steps[0].wait_seconds",
    }
    assert all(p.line > 0 for p in report.errors)


def test_duplicate_names_are_reported(tmp_path: Path) -> None:
    text = NOTIFY.replace("  - name: pager\n", "  - name: slack-ops\n")
    text = text.replace("[slack-ops, pager]", "[slack-ops]").replace(
        "{channel: pager}", "{user: a}"
    )
    _bundle, report = check_dir(config(tmp_path, text))
    assert {(p.line, p.where) for p in report.errors} == {
        (2, "channels[0].name"),
        (4, "channels[1].name"),
    }


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (f"    url: {SLACK}\n", "url"),
        (f"    urls: ['{SLACK}']\n", "urls"),
        (f"    url_file: '{SLACK}'\n", "url_file"),
    ],
)
def test_urls_in_files_are_refused(tmp_path: Path, line: str, key: str) -> None:
    text = NOTIFY.replace("    url_env: TEST_SOPH_SLACK_URL\n", line)
    bundle, report = check_dir(config(tmp_path, text))
    (problem,) = report.errors
    assert (problem.line, problem.where) == (3, f"channels[0].{key}")
    assert "not allowed in config files" in problem.message
    assert "url_env" in problem.message and "url_file" in problem.message
    assert all("SECRET" not in str(p) for p in report.errors)
    # The channel is left out of the bundle, and the route naming it is not reported again.
    assert [c.spec.name for c in bundle.channels] == ["pager"]
    assert len(report.errors) == 1


def test_missing_variable_or_file_is_an_error_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SOPH_SLACK_URL")
    _bundle, report = check_dir(config(tmp_path, url=None))
    found = {(p.line, p.where): p.message for p in report.errors}
    assert set(found) == {(3, "channels[0].url_env"), (6, "channels[1].url_file")}
    assert (
        found[(3, "channels[0].url_env")] == "environment variable TEST_SOPH_SLACK_URL is not set"
    )
    assert "cannot read file" in found[(6, "channels[1].url_file")]
    assert "No such file" in found[(6, "channels[1].url_file")]


def test_values_that_are_not_urls_are_refused_without_showing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SOPH_SLACK_URL", "hunter2")
    _bundle, report = check_dir(config(tmp_path, url=""))
    found = {p.where: p.message for p in report.errors}
    assert "URL number 1 is not an apprise URL" in found["channels[0].url_env"]
    assert "holds no URL" in found["channels[1].url_file"]
    assert all("hunter2" not in str(p) for p in report.errors)


def test_apply_needs_a_key_for_channel_urls(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    add_users(session, now, "alice", "bob")
    with pytest.raises(ConfigInvalid) as info:
        apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    session.rollback()
    assert {p.where for p in info.value.report.errors} == {
        "channels[0].url_env",
        "channels[1].url_file",
    }
    assert "no secret key configured" in info.value.report.errors[0].message
    assert notifications.list_all(session, Channel) == []


def test_apply_checks_users_and_warns_about_schedule_users(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    add_users(session, now, "bob")
    keyring = load_keyring(key=generate_key(), key_file=None)
    with pytest.raises(ConfigInvalid) as info:
        apply(session, load_dir(config(tmp_path)), actor="t", now=now, keyring=keyring)
    session.rollback()
    (error,) = info.value.report.errors
    assert (error.line, error.where) == (21, "escalation_policies[0].steps[1].notify.user")
    assert error.message == "no active user named 'alice'"
    (warning,) = info.value.report.warnings
    assert warning.where == "schedules[0].layers[0].users[0]"


def test_apply_creates_updates_and_deletes(
    session: Session, now: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_users(session, now, "alice", "bob")
    keyring = load_keyring(key=generate_key(), key_file=None)
    directory = config(tmp_path)
    summary = apply(session, load_dir(directory), actor="cli:alice", now=now, keyring=keyring)
    session.commit()
    assert [str(c) for c in summary.changes] == [
        "created channel slack-ops",
        "created channel pager",
        "created schedule primary",
        "created route critical-to-slack",
        "created policy default",
    ]
    slack = notifications.get(session, Channel, "slack-ops")
    assert (slack.managed_by, slack.source_file, slack.url_env) == ("file", "notify.yaml", None)
    # Stored encrypted, as URLs set through the API are; readable with the key only.
    assert slack.urls_ciphertext is not None and "SECRET" not in slack.urls_ciphertext
    assert [u.reveal() for u in notifications.reveal_urls(slack, keyring)] == [SLACK]
    pager = notifications.get(session, Channel, "pager")
    assert [u.reveal() for u in notifications.reveal_urls(pager, keyring)] == [
        "json://127.0.0.1:9/hook"
    ]
    assert oncall.who_is_on_call(session, "primary", now) in {"alice", "bob"}
    created = audit.search(session, action="channel.created")
    assert len(created) == 2
    assert all("SECRET" not in str(e.detail) for e in audit.search(session))

    # An override made through the API on a file-managed schedule survives re-applies.
    schedule = oncall.get(session, "primary")
    cover = OverrideSpec(user="bob", starts_at=now, ends_at=now + timedelta(hours=1))
    oncall.add_override(session, schedule, cover, actor="bob", now=now)
    session.commit()

    later = now + timedelta(hours=1)
    summary = apply(session, load_dir(directory), actor="t", now=later, keyring=keyring)
    session.commit()
    assert summary.changes == []
    assert len(summary.unchanged) == 5
    assert notifications.get(session, Channel, "slack-ops").updated_at == now

    # A new URL in the variable, a changed route, and the policy removed from the files.
    monkeypatch.setenv("TEST_SOPH_SLACK_URL", "slack://T000/B000/NEWSECRET, json://h/x")
    text = NOTIFY.split("escalation_policies:", maxsplit=1)[0].replace("severity=", "sev=")
    summary = apply(
        session, load_dir(config(tmp_path, text)), actor="t", now=later, keyring=keyring
    )
    session.commit()
    assert [str(c) for c in summary.changes] == [
        "updated channel slack-ops (url_count)",
        "updated route critical-to-slack (matchers)",
        "deleted policy default",
    ]
    slack = notifications.get(session, Channel, "slack-ops")
    assert len(notifications.reveal_urls(slack, keyring)) == 2
    (entry,) = audit.search(session, action="channel.updated")
    assert entry.detail["changes"] == {"url_count": [1, 2]}
    assert "NEWSECRET" not in str(entry.detail)
    assert notifications.find(session, EscalationPolicy, "default") is None
    assert len(oncall.overrides(session, oncall.get(session, "primary"))) == 1

    # Everything removed from the files goes; the schedule takes its overrides with it.
    (directory / "notify.yaml").write_text("actions: []\n", encoding="utf-8")
    summary = apply(session, load_dir(directory), actor="t", now=later, keyring=keyring)
    session.commit()
    assert sorted(str(c) for c in summary.changes) == [
        "deleted channel pager",
        "deleted channel slack-ops",
        "deleted route critical-to-slack",
        "deleted schedule primary",
    ]
    assert notifications.list_all(session, Channel) == []
    assert oncall.list_all(session) == []


def test_file_managed_objects_are_read_only_through_the_services_the_api_uses(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    add_users(session, now, "alice", "bob")
    keyring = load_keyring(key=generate_key(), key_file=None)
    apply(session, load_dir(config(tmp_path)), actor="t", now=now, keyring=keyring)
    session.commit()
    channel = notifications.get(session, Channel, "pager")
    with pytest.raises(ReadOnly, match="managed by file"):
        notifications.set_urls(session, keyring, channel, [Secret("json://h/y")], now=now)
    with pytest.raises(ReadOnly):
        notifications.clear_urls(session, channel, now=now)
    with pytest.raises(ReadOnly):
        notifications.delete(session, NotificationRoute, "critical-to-slack")
    with pytest.raises(ReadOnly):
        oncall.delete(session, "primary")
    with pytest.raises(ReadOnly):
        notifications.update(
            session, Channel, "pager", ChannelSpec(name="pager", enabled=False), now=now
        )


def test_apply_refuses_api_names_and_api_users_of_removed_objects(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    add_users(session, now, "alice", "bob")
    keyring = load_keyring(key=generate_key(), key_file=None)
    notifications.create(session, Channel, ChannelSpec(name="pager"), now=now)
    session.commit()
    with pytest.raises(Conflict, match="channel 'pager' is already managed by api"):
        apply(session, load_dir(config(tmp_path)), actor="t", now=now, keyring=keyring)
    session.rollback()
    notifications.delete(session, Channel, "pager")
    session.commit()

    apply(session, load_dir(config(tmp_path)), actor="t", now=now, keyring=keyring)
    # A route made through the API uses a file-managed channel...
    api_route = RouteSpec(name="api-route", channels=["slack-ops"])
    notifications.create(session, NotificationRoute, api_route, now=now)
    session.commit()
    # ... which may not then be removed from the files.
    text = NOTIFY.replace("  - name: slack-ops\n    url_env: TEST_SOPH_SLACK_URL\n", "")
    text = text.replace("[slack-ops, pager]", "[pager]")
    with pytest.raises(Conflict, match=r"route 'api-route' \(not file-managed\) uses it"):
        apply(session, load_dir(config(tmp_path, text)), actor="t", now=now, keyring=keyring)
    session.rollback()
    assert notifications.find(session, Channel, "slack-ops") is not None


def test_routes_may_name_api_channels_when_applied(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    notifications.create(session, Channel, ChannelSpec(name="api-chan"), now=now)
    session.commit()
    text = "notification_routes:\n  - name: r\n    channels: [api-chan]\n"
    _bundle, report = check_dir(config(tmp_path, text))
    assert [p.message for p in report.errors] == ["no channel named 'api-chan'"]
    summary = apply(session, load_dir(config(tmp_path, text)), actor="t", now=now)
    session.commit()
    assert [str(c) for c in summary.changes] == ["created route r"]


def test_an_invalid_schedule_is_reported_once_not_again_where_it_is_used(tmp_path: Path) -> None:
    text = NOTIFY.replace("time_zone: Europe/Paris", "time_zone: Mars/Olympus")
    _bundle, report = check_dir(config(tmp_path, text))
    assert [p.where for p in report.errors] == ["schedules[0].time_zone"]
