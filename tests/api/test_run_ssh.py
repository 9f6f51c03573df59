"""An ssh run end to end against a real sshd: a target with an encrypted key in the database,
a worker with the key ring, the API to start, watch and cancel it."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.crypto import Keyring, Secret, generate_key, load_keyring
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.executors.live import live_cut_marker
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.executors.ssh import SshExecutor
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker
from tests.api.live import (
    Event,
    LiveServer,
    live_server,
    output_of,
    read_events,
    wait_for_state,
    worker_settings,
)
from tests.executors.sshd import SshServer, sshd

__all__ = ["live_server", "sshd"]  # fixtures, imported for pytest

pytestmark = pytest.mark.timeout(90)

CAP = 4096
#: Says its first argument, then ticks (and appends to the file named by the second) forever.
TICKER = (
    'echo "said: $1"; i=0; '
    'while :; do i=$((i+1)); echo "tick $i"; echo "$i" >> "$2"; sleep 0.2; done'
)


@pytest.fixture
def keyring() -> Keyring:
    return load_keyring(key=generate_key(), key_file=None)


@pytest.fixture
def token() -> str:
    """The http_token secret of every target: the test's commands print it."""
    return "tok-" + uuid.uuid4().hex


@pytest.fixture
def inventory(
    session_factory: sessionmaker[Session], sshd: SshServer, keyring: Keyring, token: str
) -> list[str]:
    """Targets web1 and web2, both the test sshd, with its host key and an encrypted user key."""
    now = datetime.now(UTC)
    names = ["web1", "web2"]
    with session_factory.begin() as session:
        for name in names:
            spec = TargetSpec.model_validate(
                {
                    "name": name,
                    "address": sshd.host,
                    "port": sshd.port,
                    "user": sshd.user,
                    "host_keys": [sshd.host_public_key],
                }
            )
            target = targets.create(session, spec, now=now)
            key = Secret(sshd.user_private_key)
            targets.set_secret(session, keyring, target, "ssh_private_key", key, now=now)
            targets.set_secret(session, keyring, target, "http_token", Secret(token), now=now)
    return names


@pytest.fixture
def ssh_worker(
    session_factory: sessionmaker[Session], tmp_path: Path, keyring: Keyring, inventory: list[str]
) -> Iterator[Worker]:
    worker = Worker(
        worker_settings(tmp_path, output_cap_bytes=CAP),
        session_factory,
        {"ssh": SshExecutor(), "shell": LocalExecutor()},
        Metrics(),
        keyring=keyring,
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(grace_seconds=5)


def start_ssh_run(server: LiveServer, name: str, argv: list[str], **run: object) -> int:
    params = sorted({a.split("params.")[1].split()[0] for a in argv if "params." in a})
    action = {
        "name": name,
        "kind": "ssh",
        "argv": argv,
        "parameters": [{"name": p} for p in params],
        "timeout_seconds": 120,
    }
    with server.client(server.tokens.write) as client:
        assert client.post("/api/v1/actions", json=action).status_code == 201
        reply = client.post(f"/api/v1/actions/{name}/runs", json=run)
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"])


def remote_processes(marker: str) -> str:
    found = subprocess.run(
        ["pgrep", "-af", marker], check=False, capture_output=True, text=True, timeout=5
    )
    return found.stdout


def wait_until(condition: object, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_cancel_a_remote_command_while_watching_it(
    live_server: LiveServer,
    ssh_worker: Worker,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    token: str,
) -> None:
    ticks = tmp_path / f"ticks-{uuid.uuid4().hex}"
    argv = ["sh", "-c", TICKER, "sh", "{{ params.word }}", "{{ params.marker }}"]
    run_id = start_ssh_run(
        live_server,
        "remote-ticks",
        argv,
        params={"word": f"token={token}", "marker": str(ticks)},
        targets=["web1"],
    )
    events: list[Event] = []
    with (
        live_server.client() as watcher,
        watcher.stream("GET", f"/api/v1/runs/{run_id}/stream") as response,
    ):
        for event in read_events(response):
            events.append(event)
            if event.kind == "output" and "[web1] tick 3\n" in event.data["text"]:
                assert str(ticks) in remote_processes(str(ticks))  # running, remotely
                with live_server.client(live_server.tokens.write) as client:
                    assert client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 200
            if event.kind == "end":
                break

    assert events[-1].data["state"] == "cancelled"
    live = output_of(events)
    assert live.startswith("[web1] said: token=[redacted]\n[web1] tick 1\n[web1] tick 2\n")
    assert token not in live
    # The remote process is gone, and the file it appended to stopped growing.
    assert wait_until(lambda: str(ticks) not in remote_processes(str(ticks))), remote_processes(
        str(ticks)
    )
    size = ticks.stat().st_size
    time.sleep(1.0)
    assert ticks.stat().st_size == size

    run = wait_for_state(session_factory, run_id, "cancelled")
    assert run.results[0]["outcome"] == "cancelled"
    assert token not in run.output and "said: token=[redacted]" in run.output
    with live_server.client() as client:
        detail = client.get(f"/api/v1/runs/{run_id}").json()
        page = client.get(f"/api/v1/runs/{run_id}/output").json()
    assert (detail["events"][-1]["to_state"], detail["events"][-1]["reason"]) == (
        "cancelled",
        "cancelled while running",
    )
    assert page["complete"] and "".join(c["text"] for c in page["chunks"]) == live


def test_live_output_of_each_target_is_capped(
    live_server: LiveServer, ssh_worker: Worker, session_factory: sessionmaker[Session]
) -> None:
    argv = ["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' y; echo"]
    run_id = start_ssh_run(live_server, "loud", argv, targets=["web1", "web2"])
    run = wait_for_state(session_factory, run_id, "succeeded", "failed")
    assert run.state == "succeeded" and run.output_truncated
    with live_server.client() as client:
        page = client.get(f"/api/v1/runs/{run_id}/output", params={"limit": 1000}).json()
    assert page["complete"]
    live = "".join(c["text"] for c in page["chunks"])
    for name in ("web1", "web2"):
        mine = "".join(line for line in live.splitlines(keepends=True) if line.startswith(name, 1))
        assert mine.endswith(f"[{name}] {live_cut_marker(CAP)}")
        assert len(mine.encode()) <= CAP + len(f"\n[{name}] {live_cut_marker(CAP)}".encode())
        assert mine.count("truncated") == 1
