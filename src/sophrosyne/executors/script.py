"""Run a script body stored with an action: the ``script`` action kind ends up here.

The body (bash or python) is never templated: rendered parameter values reach the script only
as positional arguments (``"$1"``… / ``sys.argv[1:]``), each one a single literal word.

* Locally, the body goes into a new private temporary directory (0700, file 0600) and runs as
  ``bash <file> args…`` or ``python3 -I <file> args…`` through ``LocalExecutor``; the directory
  is removed afterwards, whatever happened (success, failure, timeout, cancellation, error).
* On targets, it runs through ``SshExecutor`` without SFTP: the body travels base64-encoded as
  one quoted word of the remote command line, and a small ``sh`` wrapper decodes it into a
  ``mktemp -d`` directory, runs it and removes the directory in an ``EXIT`` trap. A timeout or
  cancellation sends TERM to the remote process group, which the wrapper turns into a normal
  exit, so the trap runs; if the script outlives TERM and must be KILLed, the trap cannot run
  and the directory (under the target's ``$TMPDIR`` or ``/tmp``) is left behind.

Command lines are limited in length (Linux: 128 KiB for one argument, and the remote login
shell receives the whole command as one), so bodies over 64 KiB are refused with ``ValueError``
when the request is built, and so is a remote command line over ``MAX_REMOTE_COMMAND_BYTES``.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sophrosyne.executors.base import ExecRequest, ExecResult, never
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.executors.ssh import SshExecutor, SshRequest, SshResult, SshTarget, remote_command
from sophrosyne.logging import get_logger

log = get_logger(__name__)

Interpreter = Literal["bash", "python"]
#: A local run answers with an ``ExecResult``; a run on targets with an ``SshResult``.
ScriptResult = ExecResult | SshResult

MAX_BODY_BYTES = 64 * 1024
MAX_REMOTE_COMMAND_BYTES = 120_000  # below Linux's MAX_ARG_STRLEN (131072) with room to spare

#: How each interpreter is invoked; ``-I`` isolates python from PYTHON* variables, the user's
#: site directory and the script's own directory on sys.path.
_INTERPRETERS: dict[str, tuple[str, ...]] = {"bash": ("bash",), "python": ("python3", "-I")}
_SUFFIXES = {"bash": ".sh", "python": ".py"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ARGV0 = "sophrosyne-script"

#: The remote wrapper. "$1" is the base64 body, the rest are the script's arguments. Trapping
#: the signals turns them into an ordinary exit, so the EXIT trap removes the directory.
_REMOTE_WRAPPER = """\
d=$(mktemp -d "${{TMPDIR:-/tmp}}/sophrosyne-script.XXXXXXXXXX") || exit 125
trap 'rm -rf -- "$d"' EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
printf %s "$1" | base64 -d > "$d/script" || exit 125
shift
{interpreter} "$d/script" "$@"
"""


@dataclass(frozen=True, kw_only=True)
class ScriptRequest:
    """One script run, locally (no ``targets``) or on every target over SSH."""

    interpreter: Interpreter
    #: The script text as stored with the action; never templated.
    body: str = field(repr=False)
    #: Rendered parameter values; each reaches the script as one positional argument.
    args: Sequence[str] = field(default=(), repr=False)
    timeout_seconds: float = 60.0  # per target on SSH
    output_cap_bytes: int = 64 * 1024  # per target on SSH
    should_cancel: Callable[[], bool] = field(default=never)
    #: Locally the whole environment (None: the LocalExecutor's allow-list). On targets,
    #: variables added to the login environment with ``env NAME=VALUE`` (visible in ``ps``).
    env: Mapping[str, str] | None = field(default=None, repr=False)
    #: Live output. On targets, as ``SshRequest`` sends it: per target, "[target] "-prefixed
    #: lines, redacted and capped.
    on_output: Callable[[str], None] | None = None
    #: Empty: run on this machine. The options below apply to SSH runs only.
    targets: tuple[SshTarget, ...] = ()
    sudo: bool = False
    connect_timeout_seconds: float = 10.0
    parallelism: int = 8
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.interpreter not in _INTERPRETERS:
            raise ValueError(f"interpreter must be one of {sorted(_INTERPRETERS)}")
        size = len(self.body.encode("utf-8"))
        if size > MAX_BODY_BYTES:
            raise ValueError(f"script body is {size} bytes; the limit is {MAX_BODY_BYTES}")
        if self.targets:
            line = remote_command(remote_argv(self), sudo=self.sudo)
            if len(line.encode("utf-8")) > MAX_REMOTE_COMMAND_BYTES:
                raise ValueError(
                    "script body and arguments are too long for a remote command line "
                    f"(limit {MAX_REMOTE_COMMAND_BYTES} bytes)"
                )


def remote_argv(request: ScriptRequest) -> list[str]:
    """The argv ``SshExecutor`` quotes word by word: wrapper, encoded body, then the args."""
    wrapper = _REMOTE_WRAPPER.format(interpreter=" ".join(_INTERPRETERS[request.interpreter]))
    encoded = base64.b64encode(request.body.encode("utf-8")).decode("ascii")
    argv = ["sh", "-c", wrapper, _ARGV0, encoded, *request.args]
    if request.env:
        for name in request.env:
            if not _ENV_NAME.match(name):
                raise ValueError(f"invalid environment variable name: {name!r}")
        argv = ["env", *(f"{k}={v}" for k, v in request.env.items()), *argv]
    return argv


class ScriptExecutor:
    """Runs one ``ScriptRequest``; never raises for a failing script."""

    def __init__(
        self,
        local: LocalExecutor | None = None,
        ssh: SshExecutor | None = None,
        *,
        temp_root: str | None = None,
    ) -> None:
        self.local = local or LocalExecutor()
        self.ssh = ssh or SshExecutor()
        #: Where local runs create their private directory (None: the system default).
        self.temp_root = temp_root

    def run(self, request: ScriptRequest) -> ScriptResult:
        # Never the body or the arguments: both may carry secrets.
        log.info(
            "script.started",
            interpreter=request.interpreter,
            body_bytes=len(request.body.encode("utf-8")),
            argc=len(request.args),
            targets=len(request.targets),
        )
        if request.targets:
            return self._run_remote(request)
        return self._run_local(request)

    def _run_remote(self, request: ScriptRequest) -> SshResult:
        result = self.ssh.run(
            SshRequest(
                targets=request.targets,
                argv=remote_argv(request),
                sudo=request.sudo,
                connect_timeout_seconds=request.connect_timeout_seconds,
                timeout_seconds=request.timeout_seconds,
                parallelism=request.parallelism,
                output_cap_bytes=request.output_cap_bytes,
                should_cancel=request.should_cancel,
                secrets=request.secrets,
                on_output=request.on_output,
            )
        )
        log.info("script.finished", succeeded=result.succeeded, targets=len(result.results))
        return result

    def _run_local(self, request: ScriptRequest) -> ExecResult:
        started = time.monotonic()
        directory: str | None = None
        try:
            try:
                directory = tempfile.mkdtemp(prefix="sophrosyne-script-", dir=self.temp_root)
                path = _write_script(directory, request)
            except OSError as exc:
                log.warning("script.cannot_write", reason=type(exc).__name__)
                return ExecResult(
                    None, "", False, time.monotonic() - started, error=f"cannot write script: {exc}"
                )
            result = self.local.run(
                ExecRequest(
                    argv=[*_INTERPRETERS[request.interpreter], path, *request.args],
                    timeout_seconds=request.timeout_seconds,
                    output_cap_bytes=request.output_cap_bytes,
                    env=dict(request.env) if request.env is not None else None,
                    should_cancel=request.should_cancel,
                    on_output=request.on_output,
                )
            )
        finally:
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
        log.info("script.finished", exit_code=result.exit_code, duration=result.duration_seconds)
        return result


def _write_script(directory: str, request: ScriptRequest) -> str:
    """Write the body into ``directory`` (mkdtemp: 0700) as a 0600 file; return its path."""
    fd, path = tempfile.mkstemp(suffix=_SUFFIXES[request.interpreter], dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as script:
        script.write(request.body)
    return path
