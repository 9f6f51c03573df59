"""``sophrosyne validate | apply`` with channels, routes, schedules and escalation policies
(real subprocesses on SQLite), and the apply at ``serve`` start on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.cli.configcode import apply_at_start
from sophrosyne.crypto import generate_key, load_keyring
from sophrosyne.domains.notifications import service as notifications
from sophrosyne.domains.notifications.models import Channel
from sophrosyne.domains.oncall import service as oncall
from tests.cli.helpers import migrated_sqlite, rows, sophrosyne

URL = "json://127.0.0.1:9/TOKEN123"
FILES = """\
channels:
  - name: hook
    url_env: TEST_SOPH_HOOK_URL
notification_routes:
  - {name: all, channels: [hook]}
schedules:
  - name: primary
    layers: [{users: [nobody], start: 2026-01-05}]
escalation_policies:
  - name: p
    steps: [{notify: {channel: hook}}, {notify: {schedule: primary}}]
"""


def write(directory: Path, text: str = FILES) -> Path:
    (directory / "notify.yaml").write_text(text, encoding="utf-8")
    return directory


def test_validate_counts_the_sections_and_names_a_missing_variable(tmp_path: Path) -> None:
    write(tmp_path)
    result = sophrosyne("validate", tmp_path, env={"TEST_SOPH_HOOK_URL": URL})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == (
        "0 actions, 0 rules, 1 channel, 1 notification route, 1 schedule, 1 escalation policy: OK"
    )
    result = sophrosyne("validate", tmp_path)
    assert result.returncode == 1
    assert (
        f"{tmp_path / 'notify.yaml'}:3: channels[0].url_env: "
        "environment variable TEST_SOPH_HOOK_URL is not set"
    ) in result.stdout


def test_apply_stores_urls_encrypted(tmp_path: Path) -> None:
    env = migrated_sqlite(tmp_path) | {"TEST_SOPH_HOOK_URL": URL}
    config = tmp_path / "config"
    config.mkdir()
    write(config)
    result = sophrosyne("apply", config, env=env)
    assert result.returncode == 1
    assert "channels[0].url_env: no secret key configured" in result.stderr
    assert "nothing applied" in result.stderr

    env["SOPHROSYNE_SECRET_KEY"] = generate_key()
    result = sophrosyne("apply", config, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "applied: 4 created, 0 updated, 0 deleted, 0 unchanged"
    ((managed, ciphertext),) = rows(
        env, "SELECT managed_by, urls_ciphertext FROM notification_channels"
    )
    assert managed == "file" and "TOKEN123" not in ciphertext
    audit_text = str(rows(env, "SELECT detail FROM audit_log"))
    assert "TOKEN123" not in audit_text
    result = sophrosyne("apply", config, env=env)
    assert result.stdout.splitlines()[-1] == "applied: 0 created, 0 updated, 0 deleted, 4 unchanged"


def test_apply_at_start_with_a_key(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SOPH_HOOK_URL", URL)
    keyring = load_keyring(key=generate_key(), key_file=None)
    apply_at_start(session_factory, write(tmp_path), keyring=keyring)
    with session_factory() as session:
        channel = notifications.get(session, Channel, "hook")
        assert [u.reveal() for u in notifications.reveal_urls(channel, keyring)] == [URL]
        assert [s.name for s in oncall.list_all(session)] == ["primary"]


def test_apply_at_start_refuses_without_a_key(
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEST_SOPH_HOOK_URL", URL)
    with pytest.raises(typer.Exit):
        apply_at_start(session_factory, write(tmp_path))
    assert "channels[0].url_env: no secret key configured" in capsys.readouterr().err
    with session_factory() as session:
        assert notifications.list_all(session, Channel) == []
