"""Processes the benchmark starts itself: Sophrosyne, Alertmanager, a throwaway PostgreSQL
database. Everything listens on loopback, and everything started here is stopped on exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

SOPHROSYNE = [sys.executable, "-m", "sophrosyne.cli"]
LOOPBACK = "127.0.0.1"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class BenchError(RuntimeError):
    """The benchmark could not run (a process failed to start, a tool is missing …)."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, for error messages."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def sophrosyne_env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a Sophrosyne process: ours, minus any SOPHROSYNE_* of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHROSYNE_")}
    env.update(
        SOPHROSYNE_DATABASE_URL=db_url,
        SOPHROSYNE_DATA_DIR=str(data_dir),
        SOPHROSYNE_LOG_LEVEL="WARNING",
        SOPHROSYNE_LOG_FORMAT="json",
        **extra,
    )
    return env


def cli(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run one ``sophrosyne`` command to completion and return its stdout."""
    done = subprocess.run(
        [*SOPHROSYNE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"sophrosyne {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def stop(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Stop a process we started, and its process group (TERM, then KILL)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


@contextmanager
def running(cmd: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``cmd`` in its own process group with output to ``log``; stop it on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop(proc)


def wait_http(proc: subprocess.Popen[bytes], url: str, log: Path, *, timeout: float = 60) -> None:
    """Wait until ``url`` answers 200; fail early, with the log, if the process died."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode}:\n{tail(log)}")
        try:
            reply = httpx.get(url, timeout=2)
            if reply.status_code == 200:
                return
            last = f"{reply.status_code} {reply.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise BenchError(f"{url} not ready after {timeout}s ({last}):\n{tail(log)}")


@contextmanager
def sophrosyne_server(
    env: dict[str, str], config_dir: Path, log: Path, *, worker: bool
) -> Iterator[str]:
    """``sophrosyne serve`` on a free loopback port; yields its base URL once ready."""
    port = free_port()
    env = {**env, "SOPHROSYNE_HOST": LOOPBACK, "SOPHROSYNE_PORT": str(port)}
    cmd = [*SOPHROSYNE, "serve", "--config-dir", str(config_dir)]
    if not worker:
        cmd.append("--no-worker")
    base = f"http://{LOOPBACK}:{port}"
    with running(cmd, env=env, log=log) as proc:
        wait_http(proc, f"{base}/readyz", log)
        yield base


def alertmanager_binary() -> str:
    """Debian's ``prometheus-alertmanager`` (or an ``alertmanager`` on PATH)."""
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not found:
        raise BenchError("Alertmanager is not installed: run scripts/system-deps.sh")
    return found


def alertmanager_version() -> str:
    """The first line of ``alertmanager --version``."""
    done = subprocess.run(
        [alertmanager_binary(), "--version"], capture_output=True, text=True, check=False
    )
    return (done.stdout or done.stderr).splitlines()[0].strip()


_AM_CONFIG = """\
# Benchmark: every alert goes to a receiver with no integrations (nothing is sent anywhere).
route:
  receiver: "null"
receivers:
  - name: "null"
"""


@contextmanager
def alertmanager(workdir: Path) -> Iterator[str]:
    """Alertmanager, clustering off, storage in ``workdir``; yields its base URL once ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(_AM_CONFIG)
    port = free_port()
    cmd = [
        alertmanager_binary(),
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    log = workdir / "alertmanager.log"
    base = f"http://{LOOPBACK}:{port}"
    env = dict(os.environ)
    with running(cmd, env=env, log=log) as proc:
        wait_http(proc, f"{base}/-/ready", log)
        yield base


def postgres_version() -> str:
    """The server's version string (also proves it answers)."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        raise BenchError(
            f"PostgreSQL is not reachable at 127.0.0.1:5432 as user postgres: {exc}"
        ) from exc
    return f"PostgreSQL {row[0] if row else '?'}"


def _admin(statement: sql.Composed) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A throwaway database ``name``, dropped on exit (even with clients still attached)."""
    ident = sql.Identifier(name)
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
    _admin(sql.SQL("CREATE DATABASE {}").format(ident))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def retry(what: str, attempt: Callable[[], bool], *, timeout: float, every: float = 0.2) -> None:
    """Call ``attempt`` until it returns True; raise ``BenchError`` naming ``what`` if never."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if attempt():
            return
        time.sleep(every)
    raise BenchError(f"timed out after {timeout}s waiting for {what}")
