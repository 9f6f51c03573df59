"""LocalExecutor against real child processes: no mocks, every test runs a command."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sophrosyne.executors.base import ExecRequest
from sophrosyne.executors.live import live_cut_marker
from sophrosyne.executors.local import LocalExecutor

pytestmark = pytest.mark.timeout(60)

PY = sys.executable


def py(
    code: str,
    *args: str,
    timeout: float = 10.0,
    output_cap_bytes: int = 64 * 1024,
    env: dict[str, str] | None = None,
    on_output: Callable[[str], None] | None = None,
) -> ExecRequest:
    """A request running ``code`` in this interpreter, with ``args`` as sys.argv[1:]."""
    return ExecRequest(
        argv=[PY, "-c", code, *args],
        timeout_seconds=timeout,
        output_cap_bytes=output_cap_bytes,
        env=env,
        on_output=on_output,
    )


def process_gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` no longer exists or is a zombie (dead, waiting for init to reap)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.05)
    return False


def wait_for_file(path: Path, within: float = 5.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} never written")


def test_success_captures_output_and_merges_stderr() -> None:
    code = "import sys; print('to stdout', flush=True); print('to stderr', file=sys.stderr)"
    result = LocalExecutor().run(py(code))
    assert result.exit_code == 0
    assert result.succeeded
    assert "to stdout" in result.output
    assert "to stderr" in result.output
    assert not result.output_truncated
    assert result.error is None
    assert 0 < result.duration_seconds < 10


def test_echo_binary() -> None:
    result = LocalExecutor().run(
        ExecRequest(argv=["/bin/echo", "hello", "world"], timeout_seconds=5)
    )
    assert (result.exit_code, result.output) == (0, "hello world\n")


def test_nonzero_exit_code_is_kept() -> None:
    result = LocalExecutor().run(py("import sys; print('bad'); sys.exit(3)"))
    assert result.exit_code == 3
    assert not result.succeeded
    assert result.output == "bad\n"
    assert result.error is None
    assert not result.timed_out
    assert not result.cancelled


def test_death_by_signal_keeps_negative_code() -> None:
    result = LocalExecutor().run(py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    assert result.exit_code == -9
    assert result.error == "killed by signal 9"
    assert not result.succeeded


def test_arguments_are_never_interpreted(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    hostile = [
        "; rm -rf /",
        "$(id)",
        "`id`",
        "a\nb",
        "--help",
        "&& echo pwned",
        "| cat /etc/passwd",
        "'quoted' \"double\"",
        "*",
        f"$(touch {canary})",
        f"`touch {canary}`",
        "",
    ]
    result = LocalExecutor().run(py("import json, sys; print(json.dumps(sys.argv[1:]))", *hostile))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == hostile
    assert not canary.exists()


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '30'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "time.sleep(30)\n"
    )
    result = LocalExecutor(kill_grace_seconds=5.0).run(py(code, str(pidfile), timeout=1.5))
    grandchild = int(wait_for_file(pidfile))
    assert result.timed_out
    assert result.exit_code is None
    assert not result.succeeded
    # Everything obeys SIGTERM here, so the run must not wait out the 5 s grace (the bound
    # leaves room for a loaded machine).
    assert 1.5 <= result.duration_seconds < 1.5 + 3.0
    assert process_gone(grandchild), "grandchild outlived the timeout"


def test_sigterm_ignoring_process_is_killed_after_grace(tmp_path: Path) -> None:
    pidfile = tmp_path / "stubborn.pid"
    code = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
        "time.sleep(30)\n"
    )
    # A long drain, so a missing SIGKILL could not hide behind the drain's clean-up kill.
    executor = LocalExecutor(kill_grace_seconds=1.0, drain_seconds=6.0)
    result = executor.run(py(code, str(pidfile), timeout=1.5))
    pid = int(wait_for_file(pidfile))
    assert result.timed_out
    assert result.exit_code is None
    # It survived SIGTERM for the whole grace, then SIGKILL ended it at once (not after
    # some further wait, and certainly not after its 30 s sleep).
    assert 1.5 + 1.0 <= result.duration_seconds < 1.5 + 1.0 + 3.0
    assert process_gone(pid)


def test_backgrounded_grandchild_holding_the_pipe_does_not_hang_the_run(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "bg.pid"
    argv = ["sh", "-c", 'sleep 30 & echo $! > "$1"; echo leader done', "sh", str(pidfile)]
    executor = LocalExecutor(drain_seconds=0.5, kill_grace_seconds=1.0)
    result = executor.run(ExecRequest(argv=argv, timeout_seconds=20))
    assert result.exit_code == 0
    assert result.output == "leader done\n"
    assert not result.timed_out
    assert result.duration_seconds < 5
    assert process_gone(int(wait_for_file(pidfile)))


def test_output_cap_keeps_draining_and_marks_truncation() -> None:
    total = 1024 * 1024
    code = (
        f"import sys; sys.stdout.write('x' * {total}); sys.stdout.flush(); "
        "print('!', file=sys.stderr)"
    )
    result = LocalExecutor().run(py(code, output_cap_bytes=4096, timeout=20))
    # exit 0 (not a timeout) proves the child was never blocked on a full pipe.
    assert result.exit_code == 0
    assert not result.timed_out
    assert result.output_truncated
    kept, _, marker = result.output.partition("\n[output truncated")
    assert kept == "x" * 4096
    assert marker == f": kept first 4096 bytes of {total + 2}]"


def test_output_under_cap_is_not_truncated() -> None:
    result = LocalExecutor().run(py("print('x' * 99)", output_cap_bytes=100))
    assert result.output == "x" * 99 + "\n"
    assert not result.output_truncated


def test_multibyte_characters_split_across_reads_decode_cleanly() -> None:
    # 3-byte characters never line up with 64 KiB reads, so some are split between chunks.
    count = 100_000
    code = f"import sys; sys.stdout.buffer.write('€'.encode() * {count})"
    result = LocalExecutor().run(py(code, output_cap_bytes=10 * 1024 * 1024))
    assert result.output == "€" * count

    # A cap through the middle of a character drops the partial one instead of mangling it.
    capped = LocalExecutor().run(py(code, output_cap_bytes=4096))
    kept, _, _ = capped.output.partition("\n[output truncated")
    assert kept == "€" * (4096 // 3)
    assert "\ufffd" not in capped.output


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    result = LocalExecutor().run(py("import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end')"))
    assert result.exit_code == 0
    assert result.output == "ok \ufffd\ufffd end"


def test_cancel_stops_a_long_command() -> None:
    started = time.monotonic()
    request = ExecRequest(
        argv=["sleep", "30"],
        timeout_seconds=60,
        should_cancel=lambda: time.monotonic() - started > 0.5,
    )
    result = LocalExecutor(poll_interval=0.05).run(request)
    assert result.cancelled
    assert not result.timed_out
    assert result.exit_code is None
    assert 0.5 <= result.duration_seconds < 5


def test_should_cancel_that_raises_is_ignored() -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    request = ExecRequest(
        argv=[PY, "-c", "import time; time.sleep(0.5); print('done')"],
        timeout_seconds=10,
        should_cancel=broken,
    )
    result = LocalExecutor(poll_interval=0.05).run(request)
    assert (result.exit_code, result.output, result.cancelled) == (0, "done\n", False)


def test_missing_binary_is_an_error_not_an_exception() -> None:
    result = LocalExecutor().run(
        ExecRequest(argv=["/nonexistent/sophrosyne-no-such-binary"], timeout_seconds=5)
    )
    assert result.exit_code is None
    assert result.error is not None
    assert result.error.startswith("cannot start:")
    assert "No such file" in result.error
    assert not result.succeeded


def test_non_executable_file_is_an_error(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    result = LocalExecutor().run(ExecRequest(argv=[str(script)], timeout_seconds=5))
    assert result.exit_code is None
    assert result.error is not None
    assert result.error.startswith("cannot start:")


def test_empty_argv_is_an_error() -> None:
    result = LocalExecutor().run(ExecRequest(argv=[], timeout_seconds=5))
    assert result.exit_code is None
    assert result.error == "cannot start: empty argv"


def test_on_output_receives_chunks_while_running() -> None:
    received: list[tuple[float, str]] = []
    code = "import time; print('first', flush=True); time.sleep(1.0); print('second', flush=True)"
    result = LocalExecutor().run(
        py(code, on_output=lambda chunk: received.append((time.monotonic(), chunk)))
    )
    finished = time.monotonic()
    assert result.exit_code == 0
    assert "".join(chunk for _, chunk in received) == result.output == "first\nsecond\n"
    first_seen = next(at for at, chunk in received if "first" in chunk)
    assert finished - first_seen >= 0.5, "output was not streamed before the command ended"


def test_on_output_that_raises_does_not_fail_the_run() -> None:
    def broken(chunk: str) -> None:
        raise RuntimeError("listener down")

    result = LocalExecutor().run(py("print('still here')", on_output=broken))
    assert result.exit_code == 0
    assert result.output == "still here\n"


def test_live_output_stops_at_the_cap_with_one_marker() -> None:
    chunks: list[str] = []
    code = "import sys\nfor _ in range(50): sys.stdout.write('y' * 1000); sys.stdout.flush()"
    result = LocalExecutor().run(py(code, output_cap_bytes=4096, on_output=chunks.append))
    assert result.exit_code == 0 and result.output_truncated
    live = "".join(chunks)
    assert live == "y" * 4096 + "\n" + live_cut_marker(4096)


def test_server_secrets_are_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHROSYNE_SECRET", "hunter2")
    monkeypatch.setenv("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    seen = json.loads(LocalExecutor().run(py(code)).output)
    assert "SOPHROSYNE_SECRET" not in seen
    assert "hunter2" not in seen.values()
    assert seen["PATH"] == os.environ["PATH"]


def test_explicit_env_is_used_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHROSYNE_SECRET", "hunter2")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    seen = json.loads(LocalExecutor().run(py(code, env={"ONLY_THIS": "yes"})).output)
    assert seen["ONLY_THIS"] == "yes"
    assert "SOPHROSYNE_SECRET" not in seen
    assert "PATH" not in seen
