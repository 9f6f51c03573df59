"""Every action kind through the whole pipeline: a run queued (by hand or by a rule), claimed
by a real worker that decrypts the target's credentials, executed against real parts (a
loopback OpenSSH server, a loopback HTTP server, real subprocesses, real ansible-playbook),
and recorded with per-target results. Hostile parameter values stay literal in every kind.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring, Secret, generate_key, load_keyring
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.alerts.schemas import IncomingAlert
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows.ingest import ingest
from sophrosyne.flows.manual import run_action
from sophrosyne.metrics import Metrics
from sophrosyne.worker.build import default_executors
from sophrosyne.worker.loop import Worker
from tests.executors.httpd import Server, server
from tests.executors.sshd import SshServer, sshd
from tests.executors.sshd import generate_key as generate_ssh_key

__all__ = ["server", "sshd"]  # fixtures, imported for pytest

pytestmark = pytest.mark.timeout(120)

PLAYBOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "ansible"
HOSTILE = ["; rm -rf /", "$(id)", "`id`", "a\nb", "--help", "' \" \\ $HOME *"]


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def keyring() -> Keyring:
    return load_keyring(key=generate_key(), key_file=None)


def worker(sf: sessionmaker[Session], tmp_path: Path, keyring: Keyring | None) -> Worker:
    settings = Settings(
        data_dir=tmp_path,
        config_dir=PLAYBOOKS,
        worker_slots=1,
        worker_poll_seconds=0.05,
        output_cap_bytes=8192,
    )
    return Worker(settings, sf, default_executors(settings), Metrics(), keyring=keyring)


def add_target(
    sf: sessionmaker[Session],
    keyring: Keyring,
    sshd: SshServer,
    name: str,
    *,
    secrets: dict[str, str] | None = None,
    **spec: Any,
) -> None:
    fields: dict[str, Any] = {
        "name": name,
        "address": sshd.host,
        "port": sshd.port,
        "user": sshd.user,
        "host_keys": [sshd.host_public_key],
    }
    fields.update(spec)
    with sf.begin() as s:
        target = targets.create(s, TargetSpec.model_validate(fields), now=now())
        for kind, value in (secrets or {"ssh_private_key": sshd.user_private_key}).items():
            targets.set_secret(s, keyring, target, kind, Secret(value), now=now())


def add_action(sf: sessionmaker[Session], **spec: Any) -> None:
    spec.setdefault("parameters", [{"name": "v"}])
    with sf.begin() as s:
        actions.create(s, ActionSpec.model_validate(spec), now=now())


def run(sf: sessionmaker[Session], action: str, params: dict[str, Any], **kw: Any) -> int:
    with sf.begin() as s:
        return run_action(s, action, params, actor="test", now=now(), **kw).id


def finished(sf: sessionmaker[Session], w: Worker, run_id: int) -> runs.Run:
    assert w.run_one() is True
    with sf() as s:
        return runs.get(s, run_id)


# --- ssh ---------------------------------------------------------------------------------


def test_ssh_runs_on_every_selected_target_with_results_per_target(
    session_factory: sessionmaker[Session], tmp_path: Path, keyring: Keyring, sshd: SshServer
) -> None:
    for name in ("web1", "web2"):
        add_target(session_factory, keyring, sshd, name, labels={"role": "web"})
    add_target(session_factory, keyring, sshd, "db1", labels={"role": "db"})
    add_action(session_factory, name="hello", kind="ssh", argv=["printf", "%s|", "{{ params.v }}"])
    run_id = run(session_factory, "hello", {"v": "hi"}, selector=['role="web"'])
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "succeeded", done.error
    assert done.targets == ["web1", "web2"]
    assert [(r["target"], r["outcome"], r["exit_code"], r["output"]) for r in done.results] == [
        ("web1", "succeeded", 0, "hi|"),
        ("web2", "succeeded", 0, "hi|"),
    ]
    assert "=== web1 ===\nhi|" in done.output


@pytest.mark.parametrize("value", HOSTILE)
def test_ssh_hostile_values_reach_the_remote_command_as_one_word(
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    keyring: Keyring,
    sshd: SshServer,
    value: str,
) -> None:
    add_target(session_factory, keyring, sshd, "web1")
    add_action(session_factory, name="echo", kind="ssh", argv=["printf", "[%s]", "{{ params.v }}"])
    run_id = run(session_factory, "echo", {"v": value}, targets=["web1"])
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "succeeded", done.error
    assert done.results[0]["output"] == f"[{value}]"


def test_over_long_value_is_refused_before_anything_runs(
    session_factory: sessionmaker[Session], keyring: Keyring, sshd: SshServer
) -> None:
    add_target(session_factory, keyring, sshd, "web1")
    add_action(
        session_factory,
        name="echo",
        kind="ssh",
        argv=["echo", "{{ params.v }}"],
        parameters=[{"name": "v", "max_length": 64}],
    )
    with pytest.raises(ValidationFailed) as caught:
        run(session_factory, "echo", {"v": "x" * 65}, targets=["web1"])
    assert caught.value.errors[0].loc == ("params", "v")
    with session_factory() as s:
        assert runs.search(s) == []


def test_ssh_action_without_targets_is_refused(
    session_factory: sessionmaker[Session], keyring: Keyring, sshd: SshServer
) -> None:
    add_action(session_factory, name="echo", kind="ssh", argv=["true"], parameters=[])
    with pytest.raises(ValidationFailed) as caught:
        run(session_factory, "echo", {})
    assert caught.value.errors[0].loc == ("targets",)


def test_wrong_host_key_fails_the_target_and_runs_nothing(
    session_factory: sessionmaker[Session], tmp_path: Path, keyring: Keyring, sshd: SshServer
) -> None:
    _, other = generate_ssh_key(tmp_path / "other_host_key")
    add_target(session_factory, keyring, sshd, "web1", host_keys=[other])
    marker = tmp_path / "ran"
    add_action(
        session_factory, name="touch", kind="ssh", argv=["touch", str(marker)], parameters=[]
    )
    run_id = run(session_factory, "touch", {}, targets=["web1"])
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "failed"
    assert "host key" in (done.results[0]["error"] or "").lower()
    assert not marker.exists()


def test_timeout_on_a_target_times_the_run_out(
    session_factory: sessionmaker[Session], tmp_path: Path, keyring: Keyring, sshd: SshServer
) -> None:
    add_target(session_factory, keyring, sshd, "web1")
    add_action(
        session_factory,
        name="slow",
        kind="ssh",
        argv=["sleep", "30"],
        parameters=[],
        timeout_seconds=1,
    )
    run_id = run(session_factory, "slow", {}, targets=["web1"])
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "timed_out"
    assert done.results[0]["outcome"] == "timed out"


def test_trust_on_first_use_records_and_audits_the_host_key(
    session_factory: sessionmaker[Session], tmp_path: Path, keyring: Keyring, sshd: SshServer
) -> None:
    add_target(session_factory, keyring, sshd, "new1", host_keys=[], trust_on_first_use=True)
    add_action(session_factory, name="ok", kind="ssh", argv=["true"], parameters=[])
    run_id = run(session_factory, "ok", {}, targets=["new1"])
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "succeeded", done.error
    with session_factory() as s:
        assert targets.get_by_name(s, "new1").host_keys == [sshd.host_public_key]
        learned = audit.search(s, object_type="target")
        assert [e.action for e in learned] == ["target.host_key_learned"]


def test_a_target_that_vanished_or_has_no_key_is_reported_not_skipped(
    session_factory: sessionmaker[Session], tmp_path: Path, keyring: Keyring, sshd: SshServer
) -> None:
    add_target(session_factory, keyring, sshd, "web1")
    add_target(session_factory, keyring, sshd, "web2")
    add_action(session_factory, name="ok", kind="ssh", argv=["true"], parameters=[])
    run_id = run(session_factory, "ok", {}, targets=["web1", "web2"])
    with session_factory.begin() as s:
        targets.delete(s, "web2")
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "failed"
    outcomes = {r["target"]: r["outcome"] for r in done.results}
    assert outcomes == {"web1": "succeeded", "web2": "unavailable"}
    assert "web2: target no longer exists" in (done.error or "")
    # A worker with no secret key cannot decrypt credentials: says so, runs nothing.
    again = run(session_factory, "ok", {}, targets=["web1"])
    done = finished(session_factory, worker(session_factory, tmp_path, None), again)
    assert done.state == "failed"
    assert "no secret key is configured" in done.results[0]["error"]


# --- script ------------------------------------------------------------------------------

SCRIPT = 'printf "[%s]" "$1"\n'


@pytest.mark.parametrize("run_on", ["local", "targets"])
@pytest.mark.parametrize("value", HOSTILE)
def test_script_values_arrive_only_as_arguments(
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    keyring: Keyring,
    sshd: SshServer,
    run_on: str,
    value: str,
) -> None:
    add_target(session_factory, keyring, sshd, "web1")
    add_action(
        session_factory,
        name="script",
        kind="script",
        script={
            "interpreter": "bash",
            "body": SCRIPT,
            "args": ["{{ params.v }}"],
            "run_on": run_on,
        },
    )
    chosen = {"targets": ["web1"]} if run_on == "targets" else {}
    run_id = run(session_factory, "script", {"v": value}, **chosen)
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "succeeded", done.error
    out = done.results[0]["output"] if run_on == "targets" else done.output
    assert out == f"[{value}]"


# --- http --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE, "../../admin", "x?admin=1#frag", "a/b"])
def test_http_values_are_encoded_into_one_path_segment(
    session_factory: sessionmaker[Session], tmp_path: Path, server: Server, value: str
) -> None:
    add_action(
        session_factory,
        name="hook",
        kind="http",
        http={
            "method": "POST",
            "url": server.base + "/echo/{{ params.v }}/done",
            "query": {"q": "{{ params.v }}"},
            "headers": {"X-Value": "{{ params.v | replace('\\n', ' ') }}"},
            "body": '{"v": {{ params.v | tojson }}}',
        },
    )
    run_id = run(session_factory, "hook", {"v": value})
    done = finished(session_factory, worker(session_factory, tmp_path, None), run_id)
    assert done.state == "succeeded", done.error
    [seen] = server.requests
    path = urlsplit(seen.path)
    segments = path.path.split("/")
    assert segments[:2] == ["", "echo"] and segments[3:] == ["done"]
    assert unquote(segments[2]) == value
    assert json.loads(seen.body) == {"v": value}
    assert seen.headers["X-Value"] == value.replace("\n", " ")


def test_http_header_with_a_line_break_is_refused(
    session_factory: sessionmaker[Session], server: Server
) -> None:
    add_action(
        session_factory,
        name="hook",
        kind="http",
        http={"url": server.base + "/echo", "headers": {"X-Value": "{{ params.v }}"}},
    )
    with pytest.raises(ValidationFailed) as caught:
        run(session_factory, "hook", {"v": "a\r\nX-Injected: 1"})
    assert caught.value.errors[0].loc == ("http", "headers", "X-Value")
    assert server.requests == []


def test_http_per_target_with_the_targets_token_redacted(
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    keyring: Keyring,
    sshd: SshServer,
    server: Server,
) -> None:
    port = int(server.base.rsplit(":", 1)[1])
    for name in ("api1", "api2"):
        add_target(
            session_factory,
            keyring,
            sshd,
            name,
            address="127.0.0.1",
            port=port,
            secrets={"http_token": f"tok-{name}-SECRET"},
        )
    add_action(
        session_factory,
        name="drain",
        kind="http",
        parameters=[],
        http={
            "method": "POST",
            "url": "http://{{ target.address }}:{{ target.port }}/echo/{{ target.name }}",
            "auth": "target_token",
            "expected_status": [200],
        },
    )
    run_id = run(session_factory, "drain", {}, targets=["api1", "api2"])
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "succeeded", done.error
    seen = {r.path: r.headers["Authorization"] for r in server.requests}
    assert seen == {"/echo/api1": "Bearer tok-api1-SECRET", "/echo/api2": "Bearer tok-api2-SECRET"}
    assert [r["status_code"] for r in done.results] == [200, 200]
    recorded = json.dumps([done.output, done.results, done.request, done.error])
    assert "SECRET" not in recorded


def test_http_unexpected_status_fails_the_run(
    session_factory: sessionmaker[Session], tmp_path: Path, server: Server
) -> None:
    add_action(
        session_factory,
        name="hook",
        kind="http",
        parameters=[],
        http={"method": "GET", "url": server.base + "/status/503"},
    )
    run_id = run(session_factory, "hook", {})
    done = finished(session_factory, worker(session_factory, tmp_path, None), run_id)
    assert done.state == "failed"
    assert done.results[0]["status_code"] == 503


# --- ansible -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["{{ lookup('pipe', 'id') }}", "$(id)", "a\nb"])
def test_ansible_parameters_are_extra_vars_never_templates(
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    keyring: Keyring,
    sshd: SshServer,
    value: str,
) -> None:
    add_target(session_factory, keyring, sshd, "web1")
    add_action(
        session_factory,
        name="echo-play",
        kind="ansible",
        parameters=[{"name": "value"}],
        timeout_seconds=60,
        ansible={"playbook": "echo.yml", "python_interpreter": sys.executable},
    )
    run_id = run(session_factory, "echo-play", {"value": value}, targets=["web1"])
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "succeeded", done.error
    [host] = done.results
    assert host["target"] == "web1" and host["outcome"] == "succeeded"
    assert host["counts"]["failed"] == 0
    assert [t["task"] for t in host["tasks"]][:2] == ["print value", "show value"]
    assert json.dumps(value)[1:-1] in done.output


# --- rules pick targets from the alert ----------------------------------------------------


def test_rule_picks_the_target_from_the_instance_label(
    session_factory: sessionmaker[Session], tmp_path: Path, keyring: Keyring, sshd: SshServer
) -> None:
    add_target(session_factory, keyring, sshd, "web1", labels={"role": "web"})
    add_target(session_factory, keyring, sshd, "web2", labels={"role": "web"})
    add_action(session_factory, name="hello", kind="ssh", argv=["printf", "%s", "{{ params.v }}"])
    with session_factory.begin() as s:
        rules.create(
            s,
            RuleSpec.model_validate(
                {
                    "name": "hello-on-down",
                    "matchers": ['alertname="Down"'],
                    "action": "hello",
                    "parameters": {"v": "{{ labels.alertname }}"},
                    "targets": {"from_label": "instance", "selector": ['role="web"']},
                }
            ),
            now=now(),
        )
    cache = rules.RuleCache()

    def alert(fp: str, instance: str) -> IncomingAlert:
        return IncomingAlert(
            source="generic",
            fingerprint=fp,
            status="firing",
            labels={"alertname": "Down", "instance": instance},
            annotations={},
            severity=None,
            starts_at=None,
            ends_at=None,
            generator_url=None,
        )

    with session_factory.begin() as s:
        result = ingest(
            s,
            [alert("a", "web2:9100"), alert("b", "ghost:9100")],
            actor="t",
            rules=cache,
            now=now(),
        )
    [run_id] = result.queued_run_ids
    done = finished(session_factory, worker(session_factory, tmp_path, keyring), run_id)
    assert done.state == "succeeded", done.error
    assert done.targets == ["web2"] and done.results[0]["output"] == "Down"
    with session_factory() as s:
        from sophrosyne.domains.alerts import service as alerts

        [ghost] = alerts.search(s, alerts.AlertFilter(fingerprint="b"))
        [decision] = alerts.decisions(s, ghost.id)
    assert decision.outcome == "no_targets"
    assert "'ghost'" in decision.detail
