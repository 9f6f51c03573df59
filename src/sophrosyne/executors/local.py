"""Run a command on this machine: the ``shell`` and ``script`` action kinds end up here.

``LocalExecutor`` owns the whole life of one child process: starting it without a shell,
capturing its merged output up to a cap, enforcing the timeout, honouring cancellation, and
making sure nothing it started is left holding our pipe. It is POSIX only (process groups).
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from sophrosyne.executors.base import ExecRequest, ExecResult, truncation_marker
from sophrosyne.executors.live import LiveStream
from sophrosyne.logging import get_logger

log = get_logger(__name__)

_CHUNK_BYTES = 64 * 1024
#: Variables a command inherits when the request names no environment. The server's own
#: environment holds secrets (database URL, encryption key, SOPHROSYNE_* settings) that an
#: action must never see, so we pass an allow-list instead of a copy.
_INHERITED_ENV = ("PATH", "LANG", "HOME")


def _default_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _INHERITED_ENV if name in os.environ}


class _Output:
    """Collects output up to a byte cap; fed from the reader thread only."""

    def __init__(self, cap_bytes: int, on_output: Callable[[str], None] | None) -> None:
        self.cap = max(cap_bytes, 0)
        self.kept = 0
        self.total = 0
        self._parts: list[str] = []
        # Incremental, so a multi-byte character split across two reads decodes correctly.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.live = LiveStream(on_output, cap_bytes=self.cap)

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - self.kept
        if room <= 0:
            self.live.cut()  # once: the live stream says it stops here
            return  # keep draining so the child never blocks on a full pipe, but discard
        kept = data[:room]
        self.kept += len(kept)
        self._emit(self._decoder.decode(kept))
        if self.truncated:
            self.live.cut()

    def finish(self) -> str:
        if not self.truncated:
            # Flush a trailing incomplete sequence as U+FFFD. When truncated we drop it
            # instead: it is only the cut through a character, and the text stays within cap.
            self._emit(self._decoder.decode(b"", final=True))
        self.live.close()
        text = "".join(self._parts)
        if self.truncated:
            text += truncation_marker(self.kept, self.total)
        return text

    @property
    def truncated(self) -> bool:
        return self.total > self.kept

    def _emit(self, text: str) -> None:
        if text:
            self._parts.append(text)
            self.live.feed(text)


def _read_all(fd: int, output: _Output, stop: threading.Event) -> None:
    """Reader thread: drain ``fd`` until EOF or until told to stop."""
    # poll() with a timeout rather than a blocking read, so the main thread can always make us
    # give up (a process that escaped the group may hold the pipe open forever).
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while not stop.is_set():
        if not poller.poll(100):
            continue
        try:
            data = os.read(fd, _CHUNK_BYTES)
        except OSError:
            log.warning("command.read_failed", exc_info=True)
            return
        if not data:
            return
        output.feed(data)


class LocalExecutor:
    """Runs argv as a child process in its own process group; never raises for the command."""

    def __init__(
        self,
        *,
        kill_grace_seconds: float = 2.0,
        poll_interval: float = 0.2,
        drain_seconds: float = 1.0,
    ) -> None:
        self.kill_grace_seconds = kill_grace_seconds
        self.poll_interval = poll_interval
        self.drain_seconds = drain_seconds

    def run(self, request: ExecRequest) -> ExecResult:
        started = time.monotonic()
        argv = list(request.argv)
        if not argv:
            return ExecResult(None, "", False, 0.0, error="cannot start: empty argv")
        env = dict(request.env) if request.env is not None else _default_env()
        try:
            # No shell: every argv element reaches the program as one literal argument.
            # A new session gives the command its own process group, so a timeout or a
            # cancellation can stop everything it spawned, not just the leader.
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except (OSError, ValueError) as exc:
            log.warning("command.cannot_start", program=argv[0], reason=str(exc))
            return ExecResult(
                None, "", False, time.monotonic() - started, error=f"cannot start: {exc}"
            )
        # Only the program name: arguments may carry rendered secrets.
        log.info("command.started", pid=proc.pid, program=argv[0], argc=len(argv))

        assert proc.stdout is not None
        output = _Output(request.output_cap_bytes, request.on_output)
        stop_reading = threading.Event()
        reader = threading.Thread(
            target=_read_all,
            args=(proc.stdout.fileno(), output, stop_reading),
            name=f"local-exec-{proc.pid}",
            daemon=True,
        )
        reader.start()
        try:
            timed_out, cancelled = self._supervise(proc, request, started)
            reader.join(self.drain_seconds)
            if reader.is_alive():
                # The leader is gone but something it started (a backgrounded grandchild)
                # still holds the pipe open, so EOF never comes. Stop that leftover group
                # rather than wait forever; if it escaped the group, stop reading anyway.
                log.warning("command.stragglers", pid=proc.pid)
                self._terminate_group(proc)
                reader.join(self.drain_seconds)
        finally:
            if proc.poll() is None:  # we are unwinding from an unexpected error: leak nothing
                _signal_group(proc.pid, signal.SIGKILL)
            stop_reading.set()
            # Unbounded, but the reader now exits within one poll period; the pipe must not be
            # closed under a thread that may still read from its descriptor.
            reader.join()
            proc.stdout.close()

        duration = time.monotonic() - started
        text = output.finish()
        if timed_out or cancelled:
            return ExecResult(
                None, text, output.truncated, duration, timed_out=timed_out, cancelled=cancelled
            )
        code = proc.returncode
        # A negative return code means the leader died from signal -code; we keep the
        # negative number (as subprocess reports it) so callers can tell it from an exit.
        error = f"killed by signal {-code}" if code < 0 else None
        log.info("command.finished", pid=proc.pid, exit_code=code, duration=duration)
        return ExecResult(code, text, output.truncated, duration, error=error)

    def _supervise(
        self, proc: subprocess.Popen[bytes], request: ExecRequest, started: float
    ) -> tuple[bool, bool]:
        """Wait for the leader to exit; stop the group on timeout or cancellation."""
        deadline = started + request.timeout_seconds
        while True:
            remaining = deadline - time.monotonic()
            try:
                proc.wait(timeout=max(0.0, min(self.poll_interval, remaining)))
                return False, False
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() >= deadline:
                log.warning("command.timed_out", pid=proc.pid, timeout=request.timeout_seconds)
                self._terminate_group(proc)
                return True, False
            if self._cancel_requested(request):
                log.info("command.cancelled", pid=proc.pid)
                self._terminate_group(proc)
                return False, True

    @staticmethod
    def _cancel_requested(request: ExecRequest) -> bool:
        try:
            return bool(request.should_cancel())
        except Exception:
            log.warning("command.should_cancel_failed", exc_info=True)
            return False

    def _terminate_group(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM the whole group, give it a grace period, then SIGKILL what is left."""
        # With start_new_session the leader's pid is the group id. The group id cannot be
        # reused while any member (even a zombie) is alive, so signalling it is safe.
        pgid = proc.pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace_seconds
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader, or its zombie keeps the group "alive"
            if not _group_alive(pgid):
                break
            time.sleep(0.05)
        else:
            log.warning("command.killed", pid=pgid, grace=self.kill_grace_seconds)
            _signal_group(pgid, signal.SIGKILL)
        try:
            proc.wait(timeout=max(self.kill_grace_seconds, 1.0))
        except subprocess.TimeoutExpired:
            # Only a process stuck in the kernel (uninterruptible sleep) survives SIGKILL.
            log.error("command.unkillable", pid=pgid)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass  # already gone
    except PermissionError:
        log.warning("command.signal_denied", pid=pgid, signal=sig.name)


def _group_alive(pgid: int) -> bool:
    """True while any process of the group is still running (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg also succeeds for zombies, and orphans stay zombies until init reaps them,
    # which some container inits do only every second or so (or never, when we are PID 1).
    # Look for a live member instead, so a group that obeyed SIGTERM is not made to wait.
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no procfs: trust killpg
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False
