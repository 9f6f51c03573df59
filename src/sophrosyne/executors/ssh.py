"""Run one command on many Linux targets over SSH: the ``ssh`` action kind ends up here.

Host keys are verified against the keys the caller trusts for each target; a target with none
is refused before connecting, unless an operator turned on trust on first use for it, and then
the key it presented comes back in ``learned_host_key`` for the caller to record.

Each argv element reaches the remote (POSIX) login shell as one ``shlex.quote``d word. The
command runs as ``echo <token> $$; <words>``: that first line, stripped from the output, names
the remote process group, so a timeout or a cancellation stops it with ``kill`` over a second
channel. sshd's ``signal`` request is sent too, but OpenSSH ignores it for root logins, and
neither closing the channel nor the connection stops a command that has no pty.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import asyncssh

from sophrosyne.executors.base import never
from sophrosyne.executors.live import LiveStream
from sophrosyne.executors.sshoutput import TargetOutput
from sophrosyne.logging import get_logger

log = get_logger(__name__)

_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, kw_only=True)
class SshTarget:
    """One host; credentials arrive decrypted from the caller and stay out of repr."""

    name: str
    host: str
    port: int = 22
    user: str
    private_key: str | None = field(default=None, repr=False)  # OpenSSH PEM text
    passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    #: Trusted host public keys in OpenSSH format, "ssh-ed25519 AAAA...".
    known_host_keys: tuple[str, ...] = ()
    #: With no known key, accept the presented one and report it. Off unless an operator chose.
    trust_on_first_use: bool = False


@dataclass(frozen=True, kw_only=True)
class SshRequest:
    targets: Sequence[SshTarget]
    #: Already rendered; each element becomes exactly one word of the remote command line.
    argv: Sequence[str]
    sudo: bool = False  # prefix ``sudo -n --``
    connect_timeout_seconds: float = 10.0
    timeout_seconds: float = 60.0  # per target, for the command
    parallelism: int = 8
    output_cap_bytes: int = 64 * 1024  # per target
    #: Polled on the executor's event loop thread; True cancels every target.
    should_cancel: Callable[[], bool] = field(default=never)
    #: Replaced by "[redacted]" in output and errors.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    #: Live output, called on the executor's event loop thread: every line starts with
    #: "[target] ", is redacted, and each target sends at most ``output_cap_bytes`` (+ a marker).
    on_output: Callable[[str], None] | None = None


@dataclass(frozen=True)
class TargetResult:
    """One target's outcome; ``exit_code`` is None when the command did not finish."""

    target: str
    exit_code: int | None
    output: str = ""
    output_truncated: bool = False
    duration_seconds: float = 0.0
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None
    #: Set when trust on first use accepted a new host key: the caller should record it.
    learned_host_key: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.cancelled or self.error)

    @property
    def outcome(self) -> str:
        if self.cancelled or self.timed_out:
            return "cancelled" if self.cancelled else "timed out"
        return self.error or f"exit {self.exit_code}"


@dataclass(frozen=True)
class SshResult:
    results: tuple[TargetResult, ...]
    duration_seconds: float

    @property
    def succeeded(self) -> bool:
        """Every target exited 0 without error (a run with no targets did not succeed)."""
        return bool(self.results) and all(r.succeeded for r in self.results)

    @property
    def summary(self) -> str:
        ok = sum(r.succeeded for r in self.results)
        failed = [f"{r.target}: {r.outcome}" for r in self.results if not r.succeeded]
        return "; ".join([f"{ok}/{len(self.results)} targets succeeded", *failed])


def remote_command(argv: Sequence[str], *, sudo: bool = False) -> str:
    """The remote command line: every argv element quoted as one POSIX shell word."""
    words = " ".join(shlex.quote(arg) for arg in argv)
    return f"sudo -n -- {words}" if sudo else words


def _hide_commands(record: logging.LogRecord) -> bool:
    """A filter for asyncssh, which logs each command line at INFO: ours may carry secrets."""
    return not str(record.msg).endswith(("Command: %s", "Subsystem: %s"))


class SshExecutor:
    """Runs one request on every target, at most ``parallelism`` at once; never raises."""

    def __init__(
        self,
        *,
        poll_interval: float = 0.2,
        kill_grace_seconds: float = 2.0,
        drain_seconds: float = 1.0,
    ) -> None:
        self.poll_interval = poll_interval
        self.kill_grace_seconds = kill_grace_seconds
        self.drain_seconds = drain_seconds

    def run(self, request: SshRequest) -> SshResult:
        if _hide_commands not in (asyncssh_log := logging.getLogger("asyncssh")).filters:
            asyncssh_log.addFilter(_hide_commands)
        started = time.monotonic()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            results = asyncio.run(self._run_all(request))
        else:  # called from a coroutine: our loop needs a thread of its own
            with ThreadPoolExecutor(1, thread_name_prefix="ssh-executor") as pool:
                results = pool.submit(asyncio.run, self._run_all(request)).result()
        return SshResult(results, time.monotonic() - started)

    async def _run_all(self, request: SshRequest) -> tuple[TargetResult, ...]:
        cancel = asyncio.Event()
        limit = asyncio.Semaphore(max(1, request.parallelism))
        watcher = asyncio.create_task(self._watch(request, cancel))
        try:
            runs = [_TargetRun(self, t, request, cancel) for t in request.targets]
            return tuple(await asyncio.gather(*(run.run(limit) for run in runs)))
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _watch(self, request: SshRequest, cancel: asyncio.Event) -> None:
        while True:
            try:
                if request.should_cancel():
                    log.info("ssh.cancel_requested", targets=len(request.targets))
                    cancel.set()
                    return
            except Exception:
                log.warning("ssh.should_cancel_failed", exc_info=True)
            await asyncio.sleep(self.poll_interval)


class _TargetRun:
    """One target: verify its host key, connect, run the command, stop it when told."""

    def __init__(
        self, owner: SshExecutor, target: SshTarget, request: SshRequest, cancel: asyncio.Event
    ) -> None:
        self.owner, self.target, self.request, self.cancel = owner, target, request, cancel
        live = LiveStream(
            request.on_output,
            cap_bytes=request.output_cap_bytes,
            secrets=request.secrets,
            prefix=f"[{target.name}] ",
        )
        self.out = TargetOutput(request.output_cap_bytes, request.secrets, live)
        self.where = f"{target.host}:{target.port}"
        self.started = time.monotonic()
        self.log = log.bind(target=target.name, host=target.host, port=target.port)

    def result(self, exit_code: int | None = None, **fields: Any) -> TargetResult:
        if fields.get("error"):
            fields["error"] = self.out.redact(fields["error"])
        duration = time.monotonic() - self.started
        return TargetResult(self.target.name, exit_code, duration_seconds=duration, **fields)

    async def run(self, limit: asyncio.Semaphore) -> TargetResult:
        async with limit:
            self.started = time.monotonic()
            if self.cancel.is_set():
                return self.result(cancelled=True)
            try:
                return await self._connect_and_run()
            except Exception as exc:  # one target's surprise must not sink the others
                self.log.exception("ssh.target_failed")
                return self.result(error=f"internal error: {type(exc).__name__}: {exc}")

    async def _connect_and_run(self) -> TargetResult:
        target, request = self.target, self.request
        if not request.argv:
            return self.result(error="cannot start: empty argv")
        if not target.known_host_keys and not target.trust_on_first_use:
            self.log.warning("ssh.host_key_unknown")
            return self.result(error=f"host key not trusted: no known key for {self.where}")
        try:
            trusted = [asyncssh.import_public_key(key) for key in target.known_host_keys]
        except (asyncssh.KeyImportError, ValueError):
            return self.result(error=f"invalid known host key for {self.where}")
        keys: list[asyncssh.SSHKey] | None = None  # None: no public key authentication
        try:
            if target.private_key:
                keys = [asyncssh.import_private_key(target.private_key, target.passphrase)]
        except (asyncssh.KeyImportError, ValueError) as exc:
            self.log.warning("ssh.bad_private_key", reason=type(exc).__name__)
            return self.result(error=f"cannot load private key: {exc}")
        timeout = request.connect_timeout_seconds
        connecting = asyncio.ensure_future(
            asyncio.wait_for(
                asyncssh.connect(
                    target.host,
                    target.port,
                    username=target.user,
                    password=target.password,
                    client_keys=keys,
                    known_hosts=(trusted, [], []) if trusted else None,
                    config=None,  # never ~/.ssh/config, the agent, or default key files
                    agent_path=None,
                    agent_forwarding=False,
                    pkcs11_provider=None,
                    x509_trusted_certs=None,
                    x509_trusted_cert_paths=[],
                    gss_kex=False,
                    gss_auth=False,
                    password_auth=target.password is not None,
                    kbdint_auth=target.password is not None,
                    connect_timeout=timeout,
                ),
                timeout,
            )
        )
        try:
            if not await _first(connecting, self.cancel, None):
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                return self.result(cancelled=True)
            conn = connecting.result()
        except asyncssh.HostKeyNotVerifiable:
            self.log.warning("ssh.host_key_mismatch")
            return self.result(error=f"host key verification failed for {self.where}")
        except asyncssh.PermissionDenied:
            self.log.warning("ssh.auth_failed", user=target.user)
            return self.result(error=f"authentication failed for {target.user}@{self.where}")
        except TimeoutError:
            self.log.warning("ssh.connect_timed_out", timeout=timeout)
            return self.result(error=f"connect to {self.where} timed out after {timeout}s")
        except (OSError, asyncssh.Error) as exc:
            self.log.warning("ssh.connect_failed", reason=self.out.redact(str(exc)))
            return self.result(error=f"cannot connect to {self.where}: {exc}")
        async with conn:
            learned = None
            if not trusted and (key := conn.get_server_host_key()) is not None:
                learned = " ".join(key.export_public_key("openssh").decode().split()[:2])
                self.log.warning("ssh.host_key_learned", fingerprint=key.get_fingerprint())
            return await self._command(conn, learned)
        raise AssertionError("unreachable")  # mypy: SSHClientConnection.__aexit__ is bool

    async def _command(
        self, conn: asyncssh.SSHClientConnection, learned: str | None
    ) -> TargetResult:
        request, out = self.request, self.out
        words = remote_command(request.argv, sudo=request.sudo)
        self.log.info("ssh.started", program=request.argv[0], sudo=request.sudo)
        try:
            proc = await asyncio.wait_for(
                conn.create_process(
                    f"echo {out.token} $$; {words}",
                    stdin=asyncssh.DEVNULL,
                    stderr=asyncssh.STDOUT,
                    encoding=None,
                ),
                request.connect_timeout_seconds,
            )
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            self.log.warning("ssh.cannot_start", reason=type(exc).__name__)
            return self.result(error=f"cannot start command: {exc or type(exc).__name__}")
        reader = asyncio.create_task(_drain(proc, out))
        outcome = await self._wait(proc, reader, time.monotonic() + request.timeout_seconds)
        if outcome != "done":
            # "stragglers": the command exited, but something it left behind holds the output
            # open; stop that rather than wait for the timeout.
            self.log.warning("ssh.stopping", reason=outcome)
            await self._stop(conn, proc, reader)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        stopped = outcome in ("cancelled", "timed_out")
        code = None if stopped else proc.returncode
        error = None
        if code is None and not stopped:
            error = "connection closed before the command reported its exit status"
        elif code is not None and code < 0:
            error = f"killed by signal {(proc.exit_signal or ('?',))[0]}"
        result = self.result(
            code,
            output=out.finish(),
            output_truncated=out.truncated,
            timed_out=outcome == "timed_out",
            cancelled=outcome == "cancelled",
            error=error,
            learned_host_key=learned,
        )
        self.log.info("ssh.finished", exit_code=code, duration=result.duration_seconds)
        return result

    async def _wait(
        self, proc: asyncssh.SSHClientProcess[bytes], reader: asyncio.Task[None], deadline: float
    ) -> str:
        exited_at: float | None = None
        while not await _first(reader, self.cancel, time.monotonic() + self.owner.poll_interval):
            now = time.monotonic()
            self.out.live.tick()  # a partial line (a prompt) waited long enough: send it
            if self.cancel.is_set():
                return "cancelled"
            if now >= deadline:
                return "timed_out"
            if proc.returncode is not None:
                exited_at = exited_at or now
                if now - exited_at >= self.owner.drain_seconds:
                    return "stragglers"
        return "done"

    async def _stop(
        self,
        conn: asyncssh.SSHClientConnection,
        proc: asyncssh.SSHClientProcess[bytes],
        reader: asyncio.Task[None],
    ) -> None:
        """TERM the remote process group, then KILL what is left after a grace period."""
        grace = self.owner.kill_grace_seconds
        for signal in ("TERM", "KILL"):
            with suppress(OSError, asyncssh.Error):
                proc.send_signal(signal)  # sshd honours it for non-root logins only
            if self.out.pid is not None:
                kill = f"kill -s {signal} -- -{self.out.pid}"
                kill = f"{kill}; sudo -n -- {kill}" if self.request.sudo else kill
                with suppress(OSError, asyncssh.Error, TimeoutError):
                    run = conn.run(kill, stdin=asyncssh.DEVNULL, check=False)
                    await asyncio.wait_for(run, grace)
            if (await asyncio.wait({reader}, timeout=grace))[0]:
                return
        self.log.error("ssh.unstoppable", pid=self.out.pid)
        proc.close()


async def _drain(proc: asyncssh.SSHClientProcess[bytes], out: TargetOutput) -> None:
    while data := await proc.stdout.read(_CHUNK_BYTES):
        out.feed(data)
    await proc.wait_closed()


async def _first(work: asyncio.Future[Any], cancel: asyncio.Event, until: float | None) -> bool:
    """Wait for ``work`` until ``until`` (monotonic); False if cancel or the time came first."""
    waiter = asyncio.create_task(cancel.wait())
    try:
        timeout = None if until is None else max(0.0, until - time.monotonic())
        await asyncio.wait({work, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return work.done()
    finally:
        waiter.cancel()
