"""ScriptExecutor with real interpreters, locally and against a real OpenSSH server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sophrosyne.executors.base import ExecResult
from sophrosyne.executors.script import (
    MAX_BODY_BYTES,
    ScriptExecutor,
    ScriptRequest,
    ScriptResult,
)
from sophrosyne.executors.ssh import SshResult, SshTarget, TargetResult
from tests.executors.sshd import SshServer, sshd

__all__ = ["sshd"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)

BASH_ECHO = 'printf "%s\\n" "$0" "$@"\n'
PYTHON_ECHO = "import sys\nfor arg in sys.argv:\n    print(arg)\n"


def hostile(canary: Path) -> list[str]:
    return [
        "; rm -rf /",
        "$(id)",
        "`id`",
        "a\nb",
        "--help",
        "it's",
        f"; touch {canary}",
        f"$(touch {canary})",
        f"`touch {canary}`",
        f"' ; touch {canary} ; '",
        f'" ; touch {canary} ; "',
        "*",
        "$HOME",
        "",
    ]


def local(result: ScriptResult) -> ExecResult:
    assert isinstance(result, ExecResult)
    return result


def remote(result: ScriptResult) -> TargetResult:
    assert isinstance(result, SshResult) and len(result.results) == 1
    return result.results[0]


def script_dir(output: str) -> Path:
    """The directory of the script path the script printed on its first line."""
    path = Path(output.splitlines()[0])
    assert path.is_absolute() and "sophrosyne-script" in str(path), output
    return path.parent


def gone(path: Path, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while path.exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def target(server: SshServer, name: str = "web1") -> SshTarget:
    return SshTarget(
        name=name,
        host=server.host,
        port=server.port,
        user=server.user,
        private_key=server.user_private_key,
        known_host_keys=(server.host_public_key,),
    )


# --- local ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("interpreter", "body"), [("bash", BASH_ECHO), ("python", PYTHON_ECHO)])
def test_local_hostile_args_stay_literal(interpreter: str, body: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    args = hostile(canary)
    result = local(
        ScriptExecutor().run(
            ScriptRequest(interpreter=interpreter, body=body, args=args, timeout_seconds=10)  # type: ignore[arg-type]
        )
    )
    assert result.exit_code == 0 and result.succeeded, result
    first, _, rest = result.output.partition("\n")
    assert rest == "".join(arg + "\n" for arg in args)
    assert first.endswith(".sh" if interpreter == "bash" else ".py")
    assert not canary.exists()
    assert gone(script_dir(result.output))


def test_local_script_file_is_private(tmp_path: Path) -> None:
    body = 'stat -c %a "$0" "$(dirname "$0")"\n'
    executor = ScriptExecutor(temp_root=str(tmp_path))
    result = local(executor.run(ScriptRequest(interpreter="bash", body=body, timeout_seconds=10)))
    assert result.output.splitlines() == ["600", "700"], result
    assert list(tmp_path.iterdir()) == []  # the private directory is gone


def test_local_body_is_not_templated() -> None:
    body = "print('{{ host }} $1 %(x)s')\n"
    request = ScriptRequest(interpreter="python", body=body, args=["ignored"], timeout_seconds=10)
    assert local(ScriptExecutor().run(request)).output == "{{ host }} $1 %(x)s\n"


@pytest.mark.parametrize(
    ("interpreter", "body", "code"),
    [
        ("bash", 'echo "$0"\necho failing\nexit 7\n', 7),
        ("python", "import sys\nprint(sys.argv[0])\nraise SystemExit(3)\n", 3),
        ("python", "import sys\nprint(sys.argv[0], flush=True)\nraise RuntimeError('boom')\n", 1),
    ],
)
def test_local_exit_code_propagates_and_file_removed(
    interpreter: str, body: str, code: int
) -> None:
    request = ScriptRequest(interpreter=interpreter, body=body, timeout_seconds=10)  # type: ignore[arg-type]
    result = local(ScriptExecutor().run(request))
    assert result.exit_code == code and not result.succeeded, result
    assert gone(script_dir(result.output))


def test_local_timeout_kills_and_removes_file() -> None:
    body = 'echo "$0"\nsleep 30\necho never\n'
    started = time.monotonic()
    request = ScriptRequest(interpreter="bash", body=body, timeout_seconds=1)
    result = local(ScriptExecutor().run(request))
    assert result.timed_out and result.exit_code is None, result
    assert time.monotonic() - started < 10
    assert "never" not in result.output
    assert gone(script_dir(result.output))


def test_local_cancel_stops_and_removes_file() -> None:
    printed = threading.Event()
    request = ScriptRequest(
        interpreter="bash",
        body='echo "$0"\nsleep 30\n',
        timeout_seconds=30,
        should_cancel=printed.is_set,
        on_output=lambda _text: printed.set(),
    )
    result = local(ScriptExecutor().run(request))
    assert result.cancelled and result.exit_code is None, result
    assert gone(script_dir(result.output))


def test_local_env_is_the_whole_environment() -> None:
    body = 'printf "%s|%s\\n" "$GREETING" "${HOME-unset}"\n'
    env = {"GREETING": "hi $(id)", "PATH": "/usr/bin:/bin"}
    request = ScriptRequest(interpreter="bash", body=body, env=env, timeout_seconds=10)
    assert local(ScriptExecutor().run(request)).output == "hi $(id)|unset\n"


def test_body_over_limit_is_refused() -> None:
    ScriptRequest(interpreter="bash", body="#" * MAX_BODY_BYTES)  # exactly the limit is fine
    with pytest.raises(ValueError, match="limit is 65536"):
        ScriptRequest(interpreter="bash", body="#" * (MAX_BODY_BYTES + 1))
    with pytest.raises(ValueError, match="limit is 65536"):
        ScriptRequest(interpreter="python", body="é" * (MAX_BODY_BYTES // 2 + 1))  # bytes count


def test_unknown_interpreter_is_refused() -> None:
    with pytest.raises(ValueError, match="interpreter"):
        ScriptRequest(interpreter="perl", body="print 1")  # type: ignore[arg-type]


# --- over SSH ------------------------------------------------------------------------------


def ssh_run(
    server: SshServer, interpreter: str, body: str, *args: str, **kw: object
) -> TargetResult:
    request = ScriptRequest(
        interpreter=interpreter,  # type: ignore[arg-type]
        body=body,
        args=args,
        targets=(target(server),),
        **kw,  # type: ignore[arg-type]
    )
    return remote(ScriptExecutor().run(request))


@pytest.mark.parametrize(("interpreter", "body"), [("bash", BASH_ECHO), ("python", PYTHON_ECHO)])
def test_ssh_hostile_args_stay_literal(
    sshd: SshServer, interpreter: str, body: str, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    args = hostile(canary)
    result = ssh_run(sshd, interpreter, body, *args, timeout_seconds=20)
    assert result.exit_code == 0 and result.succeeded, result
    _, _, rest = result.output.partition("\n")
    assert rest == "".join(arg + "\n" for arg in args)
    assert not canary.exists()
    # sshd runs on this machine: the remote temporary directory is ours to look at.
    assert gone(script_dir(result.output))


@pytest.mark.parametrize(
    ("interpreter", "body", "code"),
    [
        ("bash", 'echo "$0"\nexit 5\n', 5),
        ("python", "import sys\nprint(sys.argv[0], flush=True)\nraise RuntimeError('boom')\n", 1),
    ],
)
def test_ssh_exit_code_propagates_and_dir_removed(
    sshd: SshServer, interpreter: str, body: str, code: int
) -> None:
    result = ssh_run(sshd, interpreter, body, timeout_seconds=20)
    assert result.exit_code == code and not result.succeeded, result
    assert gone(script_dir(result.output))


def test_ssh_timeout_stops_script_and_trap_removes_dir(sshd: SshServer) -> None:
    result = ssh_run(sshd, "bash", 'echo "$0"\nsleep 30\necho never\n', timeout_seconds=2)
    assert result.timed_out and result.exit_code is None, result
    assert "never" not in result.output
    assert gone(script_dir(result.output))  # TERM ran the wrapper's EXIT trap


def test_ssh_env_and_secrets(sshd: SshServer) -> None:
    body = 'echo "$0"\nprintf "%s\\n" "$GREETING" "$1"\n'
    result = ssh_run(
        sshd,
        "bash",
        body,
        "token=s3cret",
        env={"GREETING": "hi $(id); `id`"},
        secrets=("s3cret",),
        timeout_seconds=20,
    )
    assert result.exit_code == 0, result
    assert result.output.splitlines()[1:] == ["hi $(id); `id`", "token=[redacted]"]
    with pytest.raises(ValueError, match="variable name"):
        ScriptRequest(interpreter="bash", body="", env={"A B": "x"}, targets=(target(sshd),))


def test_ssh_two_targets_each_get_their_own_dir(sshd: SshServer) -> None:
    request = ScriptRequest(
        interpreter="python",
        body=PYTHON_ECHO,
        args=["x"],
        targets=(target(sshd, "a"), target(sshd, "b")),
        timeout_seconds=20,
    )
    result = ScriptExecutor().run(request)
    assert isinstance(result, SshResult) and result.succeeded, result
    dirs = {script_dir(r.output) for r in result.results}
    assert len(dirs) == 2 and all(gone(d) for d in dirs)


def test_ssh_limits_are_refused(sshd: SshServer) -> None:
    make: Callable[..., ScriptRequest] = ScriptRequest
    with pytest.raises(ValueError, match="limit is 65536"):
        make(interpreter="bash", body="#" * (MAX_BODY_BYTES + 1), targets=(target(sshd),))
    with pytest.raises(ValueError, match="too long for a remote command line"):
        make(
            interpreter="bash",
            body="#" * MAX_BODY_BYTES,
            args=["x" * 40_000],
            targets=(target(sshd),),
        )
    # The largest body still runs on the target.
    body = 'echo "$0"\nexit 0\n' + "#" * (MAX_BODY_BYTES - 20)
    result = ssh_run(sshd, "bash", body, timeout_seconds=20)
    assert result.exit_code == 0, result
    assert gone(script_dir(result.output))


def test_ssh_script_output_streams_redacted_per_target(sshd: SshServer) -> None:
    chunks: list[tuple[float, str]] = []
    body = 'echo "step one $1"\nsleep 1\necho "step two"\n'
    request = ScriptRequest(
        interpreter="bash",
        body=body,
        args=["token=s3cret"],
        targets=(target(sshd),),
        secrets=("s3cret",),
        timeout_seconds=20,
        on_output=lambda text: chunks.append((time.monotonic(), text)),
    )
    result = remote(ScriptExecutor().run(request))
    finished = time.monotonic()
    assert result.exit_code == 0, result
    text = "".join(t for _, t in chunks)
    assert text == "[web1] step one token=[redacted]\n[web1] step two\n"
    first = next(at for at, t in chunks if "step one" in t)
    assert finished - first >= 0.5, "output was not streamed before the script ended"
