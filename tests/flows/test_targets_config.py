"""Targets in config files: loading with lines, no secrets allowed, and apply."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from sophrosyne.crypto import Secret, generate_key, load_keyring
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.errors import Conflict
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import check_dir, load_dir

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfN6BHeLwZWFBcf8Be7wvuftTgyi7qqjLiuFKq60pT8"

TARGETS = f"""\
targets:
  - name: db-1
    address: 10.0.0.5
    user: deploy
    labels: {{role: db, dc: par1}}
    host_keys: ["{HOST_KEY}"]
  - name: web-1
    address: web1.example.com
    port: 2222
    trust_on_first_use: true
"""


def config(tmp_path: Path, text: str = TARGETS) -> Path:
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    (directory / "targets.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def test_targets_section_loads(tmp_path: Path) -> None:
    bundle, report = check_dir(config(tmp_path))
    assert report.ok, report.errors
    assert [t.spec.name for t in bundle.targets] == ["db-1", "web-1"]
    assert bundle.targets[1].spec.port == 2222
    assert bundle.targets[0].source_file == "targets.yaml"


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = TARGETS.replace("port: 2222", "port: 0").replace("10.0.0.5", "not valid!")
    _bundle, report = check_dir(config(tmp_path, bad))
    found = {(p.line, p.where): p.message for p in report.errors}
    assert set(found) == {(3, "targets[0].address"), (9, "targets[1].port")}
    assert "neither an IP address nor a valid host name" in found[(3, "targets[0].address")]
    assert all(p.file.endswith("targets.yaml") for p in report.errors)


def test_duplicate_names_are_reported(tmp_path: Path) -> None:
    _bundle, report = check_dir(config(tmp_path, TARGETS + "  - name: db-1\n    address: h\n"))
    assert {(p.line, p.where) for p in report.errors} == {
        (2, "targets[0].name"),
        (11, "targets[2].name"),
    }
    assert all("defined more than once" in p.message for p in report.errors)


def test_host_key_errors_point_at_the_key(tmp_path: Path) -> None:
    bad = TARGETS.replace(f'["{HOST_KEY}"]', '["ssh-ed25519 AAAA", "x"]')
    _bundle, report = check_dir(config(tmp_path, bad))
    (problem,) = report.errors
    assert (problem.line, problem.where) == (6, "targets[0].host_keys[0]")


@pytest.mark.parametrize("key", ["password", "private_key", "ssh_private_key", "http_token"])
def test_secrets_in_files_are_refused(tmp_path: Path, key: str) -> None:
    text = TARGETS.replace("    user: deploy\n", f"    user: deploy\n    {key}: hunter2\n")
    bundle, report = check_dir(config(tmp_path, text))
    (problem,) = report.errors
    assert (problem.line, problem.where) == (5, f"targets[0].{key}")
    assert "not allowed in config files" in problem.message
    assert "/api/v1/targets/NAME/secrets/KIND" in problem.message
    assert "sophrosyne target secret set" in problem.message
    assert "hunter2" not in str(problem)
    assert [t.spec.name for t in bundle.targets] == ["web-1"]


def test_apply_creates_updates_and_deletes_targets(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    directory = config(tmp_path)
    summary = apply(session, load_dir(directory), actor="cli:alice", now=now)
    session.commit()
    assert [str(c) for c in summary.changes] == ["created target db-1", "created target web-1"]
    db1 = targets.get_by_name(session, "db-1")
    assert (db1.managed_by, db1.source_file, db1.host_keys) == ("file", "targets.yaml", [HOST_KEY])
    (entry, _) = sorted(audit.search(session, action="target.created"), key=lambda e: e.id)
    assert entry.detail["spec"]["address"] == "10.0.0.5" and entry.actor == "cli:alice"

    # A secret set through the API survives re-applies.
    keyring = load_keyring(key=generate_key(), key_file=None)
    targets.set_secret(session, keyring, db1, "password", Secret("pw"), now=now)
    session.commit()

    later = now + timedelta(hours=1)
    summary = apply(session, load_dir(directory), actor="t", now=later)
    session.commit()
    assert summary.changes == []
    assert sorted(summary.unchanged) == [("target", "db-1"), ("target", "web-1")]
    assert {t.updated_at for t in targets.list_all(session)} == {now}

    changed = TARGETS.replace("port: 2222", "port: 2200").split("  - name: web-1")[0]
    changed = changed.replace("address: 10.0.0.5", "address: 10.0.0.9")
    summary = apply(session, load_dir(config(tmp_path, changed)), actor="bob", now=later)
    session.commit()
    assert [str(c) for c in summary.changes] == [
        "updated target db-1 (address)",
        "deleted target web-1",
    ]
    db1 = targets.get_by_name(session, "db-1")
    assert db1.address == "10.0.0.9" and db1.updated_at == later
    assert targets.has_secrets(db1) == ["password"]
    assert targets.find_by_name(session, "web-1") is None
    (upd,) = audit.search(session, action="target.updated")
    assert upd.detail["changes"] == {"address": ["10.0.0.5", "10.0.0.9"]}
    assert len(audit.search(session, action="target.deleted")) == 1


def test_apply_refuses_a_name_managed_through_the_api(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    targets.create(session, TargetSpec(name="db-1", address="10.0.0.1"), now=now)
    session.commit()
    with pytest.raises(Conflict, match="target 'db-1' is already managed by api"):
        apply(session, load_dir(config(tmp_path)), actor="t", now=now)
    session.rollback()
    assert targets.get_by_name(session, "db-1").address == "10.0.0.1"
