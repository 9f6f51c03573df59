"""The real ``sophrosyne validate | apply | test-rule`` commands, run as subprocesses, and the
apply that ``serve --config-dir`` does at start (in-process, on both database backends)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.cli.configcode import apply_at_start
from sophrosyne.db.engine import make_engine
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.rules import service as rules
from tests.cli.helpers import migrated_sqlite, rows, sophrosyne

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
#: One shell action and one rule, so the tests below can pin exact output.
BASIC = ROOT / "tests" / "fixtures" / "config-basic"
WEBHOOK = ROOT / "tests" / "fixtures" / "alertmanager" / "alertmanager-webhook.json"


@pytest.fixture
def db(tmp_path: Path) -> dict[str, str]:
    """Environment pointing the CLI at a migrated SQLite file."""
    return migrated_sqlite(tmp_path)


def test_validate_ok() -> None:
    result = sophrosyne("validate", DEMO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "4 actions, 3 rules, 1 target, 1 schedule, 1 escalation policy: OK"
    ]


def test_validate_reports_every_error_and_warning(tmp_path: Path) -> None:
    (tmp_path / "actions.yaml").write_text(
        "actions:\n  - name: a\n    argv: [/bin/echo, '{{ params.x }}']\n"
        "    parameters: [{name: x}]\n",
        encoding="utf-8",
    )
    (tmp_path / "rules.yaml").write_text(
        "rules:\n"
        "  - name: r\n"
        "    matchers: ['alertname=\"Down\"', 'oops']\n"
        "    action: a\n"
        "  - name: s\n"
        "    action: a\n"
        "    parameters: {x: '{{ labels.team }}'}\n",
        encoding="utf-8",
    )
    result = sophrosyne("validate", tmp_path)
    assert result.returncode == 1
    rules = tmp_path / "rules.yaml"
    assert result.stdout.splitlines() == [
        f"{rules}:3: rules[0].matchers[1]: bad matcher 'oops': expected name, one of = != =~ !~,"
        " and a value",
        f"warning: {rules}:7: rules[1].parameters.x: uses labels.team but no matcher guarantees"
        " that label; the run would fail with template_error for alerts without it"
        ' (add e.g. team!="")',
        f"warning: {rules}:5: rules[1].matchers: no matchers: the rule matches every alert",
        # Counts are of the specs that passed their schema.
        "1 action, 1 rule: 1 error, 2 warnings",
    ]


def test_validate_output_lines(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - name: r\n    matchers: ['service!=\"\"']\n    action: nowhere\n"
        "    parameters: {x: '{{ labels.team }}'}\n",
        encoding="utf-8",
    )
    (tmp_path / "more.yaml").write_text("actions: [\n", encoding="utf-8")
    result = sophrosyne("validate", tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    more, rules = tmp_path / "more.yaml", tmp_path / "rules.yaml"
    assert lines[0].startswith(f"{more}:2: (root): invalid YAML: ")
    assert lines[1] == f"{rules}:4: rules[0].action: no action named 'nowhere' is defined"
    assert lines[2].startswith(f"warning: {rules}:5: rules[0].parameters.x: uses labels.team")
    assert lines[3] == "0 actions, 1 rule: 2 errors, 1 warning"


def test_test_rule_with_a_config_directory() -> None:
    result = sophrosyne("test-rule", "--config", BASIC, "--alert", WEBHOOK)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "alert a935abeedce20cc4 (alertmanager, firing)"
    assert lines[1].startswith('  labels: {alertname="HighErrorRate", cluster="bench-1"')
    assert lines[2] == (
        '  MATCH restart-on-errors → restart-service: argv ["/bin/echo", "restart", '
        '"service=checkout", "instance=10.0.0.1:8080", "severity=critical", "grace=10s"]'
        " (mode auto)"
    )
    assert lines[-1] == "2 alerts, 1 rule: 2 matches (dry run: nothing was run or stored)"


def test_test_rule_shows_no_match_reasons_errors_and_literal_arguments(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "all.yaml").write_text(
        "actions:\n  - {name: say, argv: [/bin/echo, '{{ params.s }}'], parameters: [{name: s}]}\n"
        "rules:\n"
        "  - {name: a-say, matchers: ['service!=\"\"'], action: say,"
        " parameters: {s: '{{ labels.service }}'}}\n"
        "  - {name: b-down, matchers: ['alertname=\"Down\"'], action: say, parameters: {s: x}}\n"
        "  - {name: c-team, matchers: ['service!=\"\"'], action: say,"
        " parameters: {s: '{{ labels.team }}'}}\n",
        encoding="utf-8",
    )
    payload = tmp_path / "alert.json"
    payload.write_text(
        json.dumps([{"labels": {"alertname": "Up", "service": "; rm -rf /"}}]), encoding="utf-8"
    )
    result = sophrosyne("test-rule", "--config", config, "--alert", payload)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == '  labels: {alertname="Up", service="; rm -rf /"}'
    assert lines[2] == '  MATCH a-say → say: argv ["/bin/echo", "; rm -rf /"] (mode auto)'
    assert lines[4] == (
        "  no match: b-down — matcher alertname=\"Down\" failed: label alertname is 'Up'"
    )
    assert lines[5].startswith("  error: c-team — template_error: parameters.s: undefined")
    # The label no matcher guarantees was a warning, on stderr.
    assert "warning: " in result.stderr and "labels.team" in result.stderr


def test_test_rule_json() -> None:
    result = sophrosyne("test-rule", "--config", BASIC, "--alert", WEBHOOK, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["payload_type"] == "alertmanager"
    first = report["alerts"][0]["rules"][0]
    assert first["outcome"] == "match" and first["argv"][2] == "service=checkout"


def test_test_rule_invalid_payload_exits_2_naming_fields(tmp_path: Path) -> None:
    payload = tmp_path / "bad.json"
    payload.write_text(
        json.dumps({"version": "4", "alerts": [{"status": "firing"}]}), encoding="utf-8"
    )
    result = sophrosyne("test-rule", "--config", BASIC, "--alert", payload)
    assert result.returncode == 2
    assert "error: alerts[0].labels: Field required" in result.stderr.splitlines()
    assert "error: groupKey: Field required" in result.stderr.splitlines()
    payload.write_text("{not json", encoding="utf-8")
    result = sophrosyne("test-rule", "--config", BASIC, "--alert", payload)
    assert result.returncode == 2
    assert f"{payload}:1: invalid JSON" in result.stderr


def test_test_rule_with_an_invalid_config_exits_1(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - {name: r, action: nope}\n", encoding="utf-8")
    result = sophrosyne("test-rule", "--config", tmp_path, "--alert", WEBHOOK)
    assert result.returncode == 1
    assert f"{tmp_path / 'r.yaml'}:2: rules[0].action: no action named 'nope'" in result.stderr


def test_apply_then_test_rule_from_the_database(db: dict[str, str], tmp_path: Path) -> None:
    result = sophrosyne("apply", BASIC, "--actor", "cli:test", env=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "created action restart-service",
        "created rule restart-on-errors",
        "applied: 2 created, 0 updated, 0 deleted, 0 unchanged",
    ]
    assert rows(db, "SELECT name, managed_by, source_file FROM actions") == [
        ("restart-service", "file", "actions.yaml")
    ]
    assert rows(db, "SELECT actor, action FROM audit_log ORDER BY id") == [
        ("cli:test", "action.created"),
        ("cli:test", "rule.created"),
    ]
    again = sophrosyne("apply", BASIC, env=db)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["applied: 0 created, 0 updated, 0 deleted, 2 unchanged"]

    from_db = sophrosyne("test-rule", "--alert", WEBHOOK, env=db)
    assert from_db.returncode == 0, from_db.stderr
    assert "  MATCH restart-on-errors → restart-service: argv " in from_db.stdout
    assert rows(db, "SELECT count(*) FROM runs") == [(0,)]


def test_apply_dry_run_rolls_back(db: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "a.yaml").write_text(
        "actions:\n  - {name: noop, argv: [/bin/true]}\n", encoding="utf-8"
    )
    result = sophrosyne("apply", config, "--dry-run", env=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "would be created action noop",
        "dry run, rolled back: 1 created, 0 updated, 0 deleted, 0 unchanged",
    ]
    assert rows(db, "SELECT count(*) FROM actions") == [(0,)]
    assert rows(db, "SELECT count(*) FROM audit_log") == [(0,)]


def test_apply_refuses_invalid_files_and_name_clashes(db: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "r.yaml").write_text("rules:\n  - {name: r, action: nope}\n", encoding="utf-8")
    result = sophrosyne("apply", bad, env=db)
    assert result.returncode == 1
    assert f"{bad / 'r.yaml'}:2: rules[0].action: no action named 'nope'" in result.stderr
    assert "error: 1 error; nothing applied" in result.stderr

    engine = make_engine(db["SOPHROSYNE_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO actions (name, kind, description, argv, parameters, timeout_seconds,"
                " risk, idempotent, managed_by, created_at, updated_at) VALUES ('restart-service',"
                " 'shell', '', '[\"/bin/true\"]', '[]', 60, 'low', false, 'api',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    clash = sophrosyne("apply", BASIC, env=db)
    assert clash.returncode == 1
    assert "action 'restart-service' is already managed by api" in clash.stderr
    assert rows(db, "SELECT count(*) FROM rules") == [(0,)]


def test_apply_needs_a_migrated_database(tmp_path: Path) -> None:
    env = {"SOPHROSYNE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = sophrosyne("apply", BASIC, env=env)
    assert result.returncode == 1
    assert "sophrosyne db upgrade" in result.stderr


def test_apply_at_start_applies_and_commits(session_factory: sessionmaker[Session]) -> None:
    apply_at_start(session_factory, BASIC)
    apply_at_start(session_factory, BASIC)  # a restart with the same files changes nothing
    with session_factory() as session:
        assert [a.name for a in actions.list_all(session)] == ["restart-service"]
        assert len(audit.search(session)) == 2


def test_apply_at_start_refuses_to_start_on_invalid_files(
    session_factory: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - {name: r, action: nope}\n", encoding="utf-8")
    with pytest.raises(typer.Exit) as caught:
        apply_at_start(session_factory, tmp_path)
    assert caught.value.exit_code == 1
    err = capsys.readouterr().err
    assert "rules[0].action: no action named 'nope'" in err and "not starting" in err
    with session_factory() as session:
        assert actions.list_all(session) == [] and rules.list_all(session) == []
