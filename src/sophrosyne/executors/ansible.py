"""Run an Ansible playbook on the selected targets: the ``ansible`` action kind ends up here.

The playbook is a file under the configuration's playbook root; a path that resolves outside
it (``..``, an absolute path, a symlink pointing out) is refused with ``ValueError``. Typed
parameters reach the playbook only as extra vars, written to a YAML file with every string
tagged ``!unsafe``, so Ansible never evaluates Jinja found in a value (``{{ lookup('pipe',
…) }}`` stays text). Names that could override connection settings (``ansible_*``) or magic
variables are refused.

Each run gets a private directory (0700, files 0600) holding the inventory generated from the
targets, one decrypted key file per target, a known_hosts file built from the trusted host keys,
a minimal ``ansible.cfg`` (the user's own is never read) and ansible-runner's artifacts; it is
removed afterwards, whatever happened. SSH checks host keys strictly (``accept-new`` only for a
target with trust on first use) and uses only the given key: no agent, no ``~/.ssh/config``.

ansible-runner runs ``ansible-playbook`` from this interpreter's ``bin`` directory, so the
venv need not be activated. On a timeout or cancellation it kills ansible-playbook's process
group; as with plain SSH, a remote command without a pty may outlive its connection.
"""

from __future__ import annotations

import os
import re
import secrets as _random
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from math import ceil
from pathlib import Path
from typing import Any

import ansible_runner  # type: ignore[import-untyped]
import asyncssh
import yaml

from sophrosyne.crypto import redact
from sophrosyne.executors.base import never, truncation_marker
from sophrosyne.executors.live import LiveStream
from sophrosyne.executors.ssh import SshTarget
from sophrosyne.logging import get_logger

log = get_logger(__name__)

MAX_TASK_RECORDS = 1000
_TOKEN_VAR = "SOPHROSYNE_ANSIBLE_RUN"  # noqa: S105 - names a variable, holds no secret
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_HOST = re.compile(r"[A-Za-z0-9_.:-]+\Z")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_RESERVED = frozenset(
    {
        *("groups", "group_names", "hostvars", "inventory_hostname", "inventory_dir"),
        *("inventory_hostname_short", "inventory_file", "omit", "play_hosts", "playbook_dir"),
        *("role_path", "vars", "environment"),
    }
)
_EVENT_STATUS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}
_STATS = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable"}
_CFG = """\
[defaults]
interpreter_python = auto_silent
retry_files_enabled = False
host_key_checking = True
timeout = {connect_timeout}
local_tmp = {local_tmp}
forks = {forks}

[ssh_connection]
ssh_args = -o ControlMaster=no -o ControlPath=none
pipelining = True
"""


def _kill_tagged(token: str) -> None:
    """SIGKILL every process whose environment carries this run's token.

    ansible-runner kills ansible-playbook's process group only, but Ansible's workers start
    sessions of their own, so a worker (and its ssh) would outlive a timeout or cancellation.
    They all inherit the environment, whoever their parent is by now. Linux (/proc) only.
    """
    needle = f"{_TOKEN_VAR}={token}".encode() + b"\0"
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                log.info("ansible.killed_leftover", pid=int(entry.name))
        except (OSError, ValueError):
            continue


@dataclass(frozen=True, kw_only=True)
class AnsibleRequest:
    """One playbook run on ``targets``; ``playbook`` is relative to the executor's root."""

    playbook: Path
    #: The typed parameters: the only way values enter the playbook; never templated.
    extra_vars: Mapping[str, str | int | bool] = field(default_factory=dict, repr=False)
    targets: tuple[SshTarget, ...] = ()
    timeout_seconds: float = 600.0  # the whole run; rounded up to whole seconds
    connect_timeout_seconds: int = 10
    forks: int = 8
    output_cap_bytes: int = 64 * 1024
    should_cancel: Callable[[], bool] = field(default=never)
    #: Replaced by "[redacted]" in output, task messages and errors.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    vault_password: str | None = field(default=None, repr=False)
    #: ``ansible_python_interpreter`` on every target; None: Ansible's discovery.
    python_interpreter: str | None = None
    #: Live output: Ansible's display, event by event as ansible-runner reports it; redacted,
    #: and at most ``output_cap_bytes`` (+ a marker).
    on_output: Callable[[str], None] | None = None

    @property
    def redacted(self) -> tuple[str, ...]:
        """What output, task messages and errors must never show."""
        return (*self.secrets, *((self.vault_password,) if self.vault_password else ()))

    def __post_init__(self) -> None:
        for name, value in self.extra_vars.items():
            if not _NAME.match(name) or name.startswith("ansible_") or name in _RESERVED:
                raise ValueError(f"extra var name not allowed: {name!r}")
            if not isinstance(value, str | int | bool):
                raise ValueError(f"extra var {name!r} must be a string, integer or boolean")
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("target names must be unique")
        for t in self.targets:
            if not (_HOST_NAME.match(t.name) and _HOST.match(t.host) and _USER.match(t.user)):
                raise ValueError(f"invalid target name, host or user: {t.name!r}")


@dataclass(frozen=True)
class AnsibleResult:
    #: "successful", "failed", "timeout", "canceled" or "error".
    status: str
    rc: int | None
    output: str
    output_truncated: bool
    #: host -> {"ok", "changed", "failed", "unreachable", "skipped"} counts.
    per_host: dict[str, dict[str, int]]
    #: {"host", "task", "status", "msg"} in the order Ansible reported them.
    tasks: list[dict[str, str]]
    duration_seconds: float
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "successful" and self.rc == 0 and not self.error


def resolve_playbook(root: Path, playbook: Path) -> Path:
    """The playbook's real path; ``ValueError`` unless it is a file inside ``root``."""
    real_root = root.resolve(strict=True)
    path = (real_root / playbook).resolve()
    if not path.is_relative_to(real_root) or path == real_root:
        raise ValueError(f"playbook {str(playbook)!r} is outside the playbook directory")
    if not path.is_file():
        raise ValueError(f"playbook {str(playbook)!r} does not exist")
    return path


class _Unsafe(str):
    """A string written as ``!unsafe "…"``: Ansible keeps it as data, never a template."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style='"')
)


def _write(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


class _Collector:
    """ansible-runner's event handler: live output, per-task records and the final per-host
    stats."""

    def __init__(self, secrets: tuple[str, ...], live: LiveStream) -> None:
        self.secrets = secrets
        self.live = live
        self.tasks: list[dict[str, str]] = []
        self.per_host: dict[str, dict[str, int]] = {}

    def __call__(self, event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        kind = event.get("event", "")
        if text := event.get("stdout"):
            self.live.feed(f"{text}\n")
        if kind == "playbook_on_stats":
            for key, counts in ((k, data.get(k) or {}) for k in (*_STATS, "skipped")):
                for host, count in counts.items():
                    row = self.per_host.setdefault(host, dict.fromkeys(_HOST_KEYS, 0))
                    row[_STATS.get(key, key)] = int(count)
        elif kind in _EVENT_STATUS and len(self.tasks) < MAX_TASK_RECORDS:
            res = data.get("res") or {}
            status = _EVENT_STATUS[kind]
            if status == "ok" and res.get("changed"):
                status = "changed"
            msg = res.get("msg") or res.get("stderr") or res.get("stdout") or ""
            self.tasks.append(
                {
                    "host": str(data.get("host", "")),
                    "task": str(data.get("task", "")),
                    "status": status,
                    "msg": redact(str(msg)[:2000], self.secrets),
                }
            )
        return False  # ansible-runner need not keep the event


_HOST_KEYS = ("ok", "changed", "failed", "unreachable", "skipped")


class AnsibleExecutor:
    """Runs one playbook with ansible-runner; never raises for a failed playbook."""

    def __init__(self, playbook_root: Path, *, poll_interval: float = 0.2) -> None:
        self.playbook_root = playbook_root
        self.poll_interval = poll_interval
        self.bin_dir = Path(sys.executable).parent

    def run(self, request: AnsibleRequest) -> AnsibleResult:
        playbook = resolve_playbook(self.playbook_root, request.playbook)  # ValueError
        started = time.monotonic()
        live = LiveStream(
            request.on_output, cap_bytes=request.output_cap_bytes, secrets=request.redacted
        )
        collector = _Collector(request.redacted, live)
        private = Path(tempfile.mkdtemp(prefix="sophrosyne-ansible-"))  # 0700
        token = _random.token_hex(16)
        bound = log.bind(playbook=str(request.playbook), targets=len(request.targets))
        try:
            status, rc, output, truncated = self._run(request, playbook, private, collector, token)
            error = None
        except Exception as exc:  # noqa: BLE001 - an executor reports, never raises
            bound.exception("ansible.error")
            status, rc, output, truncated = "error", None, "", False
            error = redact(f"internal error: {type(exc).__name__}: {exc}", request.redacted)
        finally:
            live.close()
            _kill_tagged(token)  # a worker left behind would go on running its task
            shutil.rmtree(private, ignore_errors=True)
        duration = time.monotonic() - started
        bound.info("ansible.finished", status=status, rc=rc, duration=duration)
        return AnsibleResult(
            status, rc, output, truncated, collector.per_host, collector.tasks, duration, error
        )

    def _run(
        self,
        request: AnsibleRequest,
        playbook: Path,
        private: Path,
        collector: _Collector,
        token: str,
    ) -> tuple[str, int | None, str, bool]:
        local_tmp = private / "tmp"
        local_tmp.mkdir(mode=0o700)
        config = _CFG.format(
            connect_timeout=int(request.connect_timeout_seconds),
            local_tmp=local_tmp,
            forks=max(1, request.forks),
        )
        cfg = _write(private / "ansible.cfg", config)
        # ansible-runner drops a ``settings`` argument unless env/settings exists: use the file.
        (private / "env").mkdir(mode=0o700)
        settings = {"pexpect_timeout": self.poll_interval, "suppress_ansible_output": True}
        _write(private / "env" / "settings", yaml.safe_dump(settings))
        inventory = _write(private / "hosts.yml", self._inventory(request, private))
        extra = {k: _Unsafe(v) if isinstance(v, str) else v for k, v in request.extra_vars.items()}
        extra_file = _write(private / "extra_vars.yml", yaml.dump(extra, Dumper=_Dumper))
        args = ["-e", f"@{extra_file}"]
        if request.vault_password is not None:
            vault = _write(private / "vault_password", request.vault_password)
            args += ["--vault-password-file", str(vault)]
        envvars = {  # ansible-runner finds ansible-playbook on this PATH: ours first
            "PATH": os.pathsep.join([str(self.bin_dir), os.environ.get("PATH", os.defpath)]),
            "ANSIBLE_CONFIG": str(cfg),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCAL_TEMP": str(local_tmp),
            "ANSIBLE_HOME": str(private / "home"),
            _TOKEN_VAR: token,
            # ansible-runner passes our whole environment on; blank Sophrosyne's own settings
            # (the secret key among them) so no playbook can read them with lookup('env').
            **{name: "" for name in os.environ if name.startswith("SOPHROSYNE_")},
        }
        deadline = time.monotonic() + request.timeout_seconds
        reason: list[str] = []
        runner = ansible_runner.run(
            private_data_dir=str(private),
            project_dir=str(self.playbook_root.resolve()),
            playbook=str(playbook),
            inventory=str(inventory),
            cmdline=shlex.join(args),
            envvars=envvars,
            quiet=True,
            suppress_env_files=True,
            timeout=ceil(request.timeout_seconds) + 5,  # a backstop: we stop it on time
            cancel_callback=self._stop_check(request, token, deadline, reason),
            event_handler=collector,
        )
        output, truncated = self._output(runner, request)
        status = reason[0] if reason and runner.status == "canceled" else str(runner.status)
        return status, runner.rc, output, truncated

    def _inventory(self, request: AnsibleRequest, private: Path) -> str:
        hosts: dict[str, dict[str, Any]] = {}
        for index, target in enumerate(request.targets):
            known_hosts = private / f"known_hosts_{index}"
            lines = []
            for key in target.known_host_keys:
                where = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
                lines.append(f"{where} {' '.join(key.split()[:2])}\n")
            _write(known_hosts, "".join(lines))
            strict = "accept-new" if target.trust_on_first_use else "yes"
            ssh_args = [
                f"-o UserKnownHostsFile={shlex.quote(str(known_hosts))}",
                "-o GlobalKnownHostsFile=/dev/null",
                f"-o StrictHostKeyChecking={strict}",
                "-o IdentitiesOnly=yes",
                "-o IdentityAgent=none",
                "-F /dev/null",
            ]
            host: dict[str, Any] = {
                "ansible_host": target.host,
                "ansible_port": target.port,
                "ansible_user": target.user,
                "ansible_ssh_common_args": " ".join(ssh_args),
            }
            if target.private_key:
                # Decrypted here: ssh would prompt for a passphrase. The file lives 0600 in the
                # private directory and is removed with it.
                private_key = asyncssh.import_private_key(target.private_key, target.passphrase)
                key_text = private_key.export_private_key("openssh").decode("ascii")
                host["ansible_ssh_private_key_file"] = str(
                    _write(private / f"key_{index}", key_text)
                )
            if request.python_interpreter:
                host["ansible_python_interpreter"] = request.python_interpreter
            hosts[target.name] = host
        return yaml.safe_dump({"all": {"hosts": hosts}})

    def _stop_check(
        self, request: AnsibleRequest, token: str, deadline: float, reason: list[str]
    ) -> Callable[[], bool]:
        """ansible-runner's cancel callback: True (after killing everything) to stop."""

        def check() -> bool:
            if not reason and time.monotonic() >= deadline:
                log.warning("ansible.timed_out", timeout=request.timeout_seconds)
                reason.append("timeout")
            if not reason:
                try:
                    if request.should_cancel():
                        log.info("ansible.cancel_requested")
                        reason.append("canceled")
                except Exception:
                    log.warning("ansible.should_cancel_failed", exc_info=True)
            if reason:
                _kill_tagged(token)
            return bool(reason)

        return check

    def _output(self, runner: Any, request: AnsibleRequest) -> tuple[str, bool]:
        cap = max(request.output_cap_bytes, 0)
        path = Path(runner.config.artifact_dir) / "stdout"
        if not path.exists():
            return "", False
        total = path.stat().st_size
        longest = max((len(s.encode()) for s in request.redacted if s), default=0)
        with path.open("rb") as handle:
            raw = handle.read(cap + longest)
        text = redact(raw.decode("utf-8", errors="replace"), request.redacted)
        if total <= cap:
            return text, False
        text = text.encode()[:cap].decode("utf-8", errors="ignore")
        return text + truncation_marker(cap, total), True
