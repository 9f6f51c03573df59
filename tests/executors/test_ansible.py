"""AnsibleExecutor: real ansible-playbook against a real OpenSSH server; nothing mocked."""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from sophrosyne.executors.ansible import (
    AnsibleExecutor,
    AnsibleRequest,
    AnsibleResult,
    resolve_playbook,
)
from sophrosyne.executors.ssh import SshTarget
from tests.executors.sshd import SshServer, generate_key, sshd

__all__ = ["sshd"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)

PLAYBOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "ansible"


def target(server: SshServer, name: str = "web1", **overrides: object) -> SshTarget:
    fields: dict[str, object] = {
        "name": name,
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "private_key": server.user_private_key,
        "known_host_keys": (server.host_public_key,),
    }
    fields.update(overrides)
    return SshTarget(**fields)  # type: ignore[arg-type]


def run(server: SshServer, playbook: str, **options: object) -> AnsibleResult:
    options.setdefault("targets", (target(server),))
    options.setdefault("timeout_seconds", 30)
    # The test machine's login PATH may start with a broken pyenv shim: pin the interpreter.
    options.setdefault("python_interpreter", sys.executable)
    request = AnsibleRequest(playbook=Path(playbook), **options)  # type: ignore[arg-type]
    return AnsibleExecutor(PLAYBOOKS).run(request)


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own temp root, so checks that private directories were removed
    are not confused by other runs on the same machine."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))


def private_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("sophrosyne-ansible-*")}


def playbook_processes(playbook: str) -> list[int]:
    """Local processes (ansible-playbook and its workers) running this fixture playbook."""
    needle = str(PLAYBOOKS / playbook).encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_hostile_extra_vars_arrive_as_literal_text(sshd: SshServer) -> None:
    canary = Path(tempfile.gettempdir()) / f"sophrosyne-canary-{uuid.uuid4().hex}"
    hostile = [
        "; rm -rf /nonexistent-sophrosyne",
        "$(id)",
        "`id`",
        "{{ 7*7 }}",
        f"{{{{ lookup('pipe', 'touch {canary}') }}}}",
        "{% raw %}x{% endraw %}",
    ]
    before = private_dirs()
    for value in hostile:
        result = run(sshd, "echo.yml", extra_vars={"value": value})
        assert result.succeeded, (value, result.output, result.error)
        printed = [t for t in result.tasks if t["task"] == "print value"]
        assert len(printed) == 1 and printed[0]["status"] == "ok"
        assert printed[0]["msg"] == value  # stdout of printf, byte for byte
    assert not canary.exists(), "a template inside an extra var was evaluated"
    assert private_dirs() == before  # the private directory is always removed


def test_stats_and_tasks_recorded_per_host(sshd: SshServer) -> None:
    targets = (target(sshd, "web1"), target(sshd, "web2"))
    result = run(sshd, "echo.yml", targets=targets, extra_vars={"value": "hello"})
    assert result.status == "successful" and result.rc == 0 and result.succeeded
    assert set(result.per_host) == {"web1", "web2"}
    for counts in result.per_host.values():
        assert counts == {"ok": 2, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 0}
    assert sorted((t["host"], t["task"]) for t in result.tasks) == [
        ("web1", "print value"),
        ("web1", "show value"),
        ("web2", "print value"),
        ("web2", "show value"),
    ]
    assert "PLAY RECAP" in result.output and not result.output_truncated
    assert result.duration_seconds > 0


def test_playbooks_cannot_read_sophrosyne_settings(
    sshd: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPHROSYNE_SECRET_KEY", "not-for-playbooks-4f1c")
    result = run(sshd, "env.yml")
    assert result.succeeded, result.output
    assert "key=[]" in result.output
    assert "not-for-playbooks-4f1c" not in result.output


def test_failing_task_is_recorded_and_run_failed(sshd: SshServer) -> None:
    result = run(sshd, "fail.yml")
    assert result.status == "failed" and not result.succeeded and result.rc != 0
    statuses = [(t["task"], t["status"]) for t in result.tasks]
    assert statuses == [("first step", "changed"), ("broken step", "failed")]
    assert result.per_host["web1"]["failed"] == 1
    assert result.per_host["web1"]["changed"] == 1


def test_wrong_host_key_never_connects(sshd: SshServer, tmp_path: Path) -> None:
    _, other_host_key = generate_key(tmp_path / "other_host")
    marker = uuid.uuid4().hex
    result = run(
        sshd,
        "echo.yml",
        targets=(target(sshd, known_host_keys=(other_host_key,)),),
        extra_vars={"value": marker},
    )
    assert result.status == "failed" and not result.succeeded
    assert result.per_host["web1"]["unreachable"] == 1
    assert [t["status"] for t in result.tasks] == ["unreachable"]
    assert marker not in result.output
    assert "host key verification failed" in result.tasks[0]["msg"].lower()


def test_unknown_host_key_without_trust_on_first_use_is_refused(sshd: SshServer) -> None:
    result = run(
        sshd, "echo.yml", targets=(target(sshd, known_host_keys=()),), extra_vars={"value": "x"}
    )
    assert result.status == "failed" and result.per_host["web1"]["unreachable"] == 1
    tofu = run(
        sshd,
        "echo.yml",
        extra_vars={"value": "x"},
        targets=(target(sshd, known_host_keys=(), trust_on_first_use=True),),
    )
    assert tofu.succeeded, tofu.output


def test_timeout_stops_the_run_quickly(sshd: SshServer) -> None:
    before = private_dirs()
    started = time.monotonic()
    result = run(sshd, "sleep.yml", timeout_seconds=3)
    elapsed = time.monotonic() - started
    assert result.status == "timeout" and not result.succeeded
    assert elapsed < 6
    assert private_dirs() == before
    assert playbook_processes("sleep.yml") == []  # no worker left running the task


def test_cancellation(sshd: SshServer) -> None:
    started = time.monotonic()
    result = run(sshd, "sleep.yml", should_cancel=lambda: time.monotonic() - started > 1.5)
    assert result.status == "canceled" and not result.succeeded
    assert time.monotonic() - started < 5
    assert playbook_processes("sleep.yml") == []


def test_secrets_redacted_and_output_capped(sshd: SshServer) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    result = run(sshd, "echo.yml", extra_vars={"value": secret}, secrets=(secret,))
    assert result.succeeded
    assert secret not in result.output and "[redacted]" in result.output
    assert all(secret not in t["msg"] for t in result.tasks)
    capped = run(sshd, "echo.yml", extra_vars={"value": "x"}, output_cap_bytes=50)
    assert capped.output_truncated
    assert "[output truncated: kept first 50 bytes of" in capped.output


@pytest.mark.parametrize("playbook", ["../ansible/../../conftest.py", "/etc/passwd", "."])
def test_playbook_outside_root_refused(playbook: str) -> None:
    with pytest.raises(ValueError):
        resolve_playbook(PLAYBOOKS, Path(playbook))


def test_symlink_escaping_root_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.yml"
    outside.write_text("- hosts: all\n  tasks: []\n")
    (root / "link.yml").symlink_to(outside)
    request = AnsibleRequest(playbook=Path("link.yml"))
    with pytest.raises(ValueError, match="outside"):
        AnsibleExecutor(root).run(request)


@pytest.mark.parametrize("name", ["ansible_ssh_common_args", "hostvars", "1x", "a-b"])
def test_dangerous_extra_var_names_refused(name: str) -> None:
    with pytest.raises(ValueError):
        AnsibleRequest(playbook=Path("echo.yml"), extra_vars={name: "x"})


def test_vault_password_and_encrypted_key(sshd: SshServer, tmp_path: Path) -> None:
    private, public = generate_key(tmp_path / "locked", passphrase="key-passphrase")
    sshd.authorize(public)
    locked = target(sshd, private_key=private, passphrase="key-passphrase")
    result = run(sshd, "vault.yml", targets=(locked,), vault_password="vault-pw-for-tests")
    assert result.succeeded, result.output
    assert [t["msg"] for t in result.tasks] == ["opened-vault-value"]
    wrong = run(sshd, "vault.yml", vault_password="not-the-password")
    assert wrong.status == "failed"
    assert [t["status"] for t in wrong.tasks] == ["failed"]
    assert "Decryption failed" in wrong.tasks[0]["msg"]


def test_live_output_streams_redacted_and_capped(sshd: SshServer) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    chunks: list[tuple[float, str]] = []
    result = run(
        sshd,
        "echo.yml",
        extra_vars={"value": secret},
        secrets=(secret,),
        on_output=lambda text: chunks.append((time.monotonic(), text)),
    )
    finished = time.monotonic()
    assert result.succeeded
    live = "".join(text for _, text in chunks)
    assert "PLAY [Echo a parameter]" in live and "TASK [print value]" in live
    assert "[redacted]" in live and secret not in live
    assert "PLAY RECAP" in live
    first = next(at for at, text in chunks if "PLAY [" in text)
    assert finished - first >= 0.3, "output was not streamed before the playbook ended"
    capped: list[str] = []
    run(sshd, "echo.yml", extra_vars={"value": "x"}, output_cap_bytes=50, on_output=capped.append)
    assert "".join(capped).count("live output truncated after 50 bytes") == 1
    assert len("".join(capped).encode()) <= 50 + 100
