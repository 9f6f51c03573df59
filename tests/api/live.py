"""A real HTTP server and a real worker for tests of live output, and an SSE reader.

``live_server`` serves the test's application with uvicorn on a loopback port (in a thread),
because streaming must be watched through a real connection; ``running_worker`` executes the
runs the test queues. Import both into a test module to use them::

    from tests.api.live import live_server, running_worker  # noqa: F401
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.domains.runs import service as runs
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker
from tests.api.helpers import Tokens
from tests.e2e.procs import free_port


@dataclass
class Event:
    """One Server-Sent Event, and when this client received it."""

    kind: str
    data: Any
    id: str | None
    received: datetime = field(default_factory=lambda: datetime.now(UTC))


def read_events(response: httpx.Response) -> Iterator[Event]:
    """Events as they arrive (comments and the retry field are skipped)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in fields:
                yield Event(
                    fields.get("event", "message"), json.loads(fields["data"]), fields.get("id")
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


def output_of(events: list[Event]) -> str:
    return "".join(e.data["text"] for e in events if e.kind == "output")


@dataclass
class LiveServer:
    url: str
    tokens: Tokens

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.tokens.read}"},
            timeout=httpx.Timeout(30.0),
        )

    def collect(
        self, run_id: int, *, last_event_id: int | None = None, until: str = "end"
    ) -> list[Event]:
        """Follow a run's stream until an event of kind ``until`` (or the stream ends)."""
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        got: list[Event] = []
        with (
            self.client() as client,
            client.stream("GET", f"/api/v1/runs/{run_id}/stream", headers=headers) as response,
        ):
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            for event in read_events(response):
                got.append(event)
                if event.kind == until:
                    break
        return got


@pytest.fixture
def live_server(app: FastAPI, tokens: Tokens) -> Iterator[LiveServer]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", tokens)
    finally:
        server.should_exit = True
        thread.join(10)


def worker_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "worker_slots": 2,
        "worker_poll_seconds": 0.05,
        "worker_heartbeat_seconds": 0.2,
        "worker_lease_seconds": 30,
        "output_cap_bytes": 4096,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def running_worker(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Worker]:
    """A started worker running shell actions with the real LocalExecutor."""
    worker = Worker(
        worker_settings(tmp_path), session_factory, {"shell": LocalExecutor()}, Metrics()
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(grace_seconds=5)


def wait_for_state(
    sf: sessionmaker[Session], run_id: int, *states: str, within: float = 20.0
) -> runs.Run:
    deadline = time.monotonic() + within
    while True:
        with sf() as session:
            run = runs.get(session, run_id)
        if run.state in states:
            return run
        assert time.monotonic() < deadline, f"run {run_id} is {run.state}, not {states}"
        time.sleep(0.05)
