"""Live output through the API: polling, Server-Sent Events over a real connection while a
real command runs, reconnection, and cancelling a run while watching it."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.api import runoutput
from sophrosyne.domains.runs import output
from tests.api.helpers import Api, Tokens
from tests.api.live import (
    Event,
    LiveServer,
    live_server,
    output_of,
    read_events,
    running_worker,
    wait_for_state,
)

__all__ = ["live_server", "running_worker"]  # fixtures, imported for pytest

pytestmark = pytest.mark.timeout(90)

PY = sys.executable
#: Prints argv[1] numbered lines, argv[2] seconds apart (forever when argv[1] is 0).
PRINTER = """\
import itertools, os, sys, time
print('pid', os.getpid(), flush=True)
for i in itertools.count(1) if sys.argv[1] == '0' else range(1, int(sys.argv[1]) + 1):
    print('line', i, flush=True)
    time.sleep(float(sys.argv[2]))
"""


def start_printer(server: LiveServer, lines: int, pause: float, name: str = "printer") -> int:
    with server.client(server.tokens.write) as client:
        action = {"name": name, "argv": [PY, "-c", PRINTER, str(lines), str(pause)]}
        action["timeout_seconds"] = 120
        assert client.post("/api/v1/actions", json=action).status_code == 201
        reply = client.post(f"/api/v1/actions/{name}/runs", json={})
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"])


def test_stream_sends_output_while_the_run_is_in_progress(
    live_server: LiveServer, running_worker: object, session_factory: sessionmaker[Session]
) -> None:
    run_id = start_printer(live_server, lines=4, pause=0.5)
    events = live_server.collect(run_id)
    run = wait_for_state(session_factory, run_id, "succeeded")
    assert run.finished_at is not None

    assert events[0].kind == "state" and events[-1].kind == "end"
    assert events[-1].data == {"state": "succeeded", "exit_code": 0, "error": None}
    states = [e.data["state"] for e in events if e.kind == "state"]
    assert "running" in states and states[-1] == "succeeded"
    outputs = [e for e in events if e.kind == "output"]
    assert output_of(events) == run.output
    assert len(outputs) >= 3, "output came in one piece, not as it was printed"
    assert [int(e.id or 0) for e in outputs] == list(range(1, len(outputs) + 1))
    # The first line reached the client well before the command ended.
    assert outputs[0].received < run.finished_at - timedelta(seconds=1)
    assert "line 1" in outputs[0].data["text"] and "line 4" not in outputs[0].data["text"]


def test_reconnecting_with_last_event_id_resumes_without_repeats(
    live_server: LiveServer, running_worker: object, session_factory: sessionmaker[Session]
) -> None:
    run_id = start_printer(live_server, lines=6, pause=0.3)
    first = live_server.collect(run_id, until="output")  # then the client hangs up
    last = int(first[-1].id or 0)
    rest = live_server.collect(run_id, last_event_id=last)
    run = wait_for_state(session_factory, run_id, "succeeded")
    assert all(int(e.id or 0) > last for e in rest if e.kind == "output")
    assert output_of(first) + output_of(rest) == run.output
    # Reconnecting after the end: nothing repeated, straight to the end.
    final = max(int(e.id or 0) for e in rest if e.kind == "output")
    again = live_server.collect(run_id, last_event_id=final)
    assert [e.kind for e in again] == ["state", "end"]


def test_stream_stops_reading_when_the_client_goes_away(
    live_server: LiveServer,
    running_worker: object,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[float] = []
    real_read = runoutput._read

    def counting_read(*args: object, **kwargs: object) -> object:
        reads.append(time.monotonic())
        return real_read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runoutput, "_read", counting_read)
    run_id = start_printer(live_server, lines=0, pause=0.2)  # runs until cancelled
    try:
        live_server.collect(run_id, until="output")
        time.sleep(1.0)  # the server notices the closed connection within a poll or two
        count = len(reads)
        time.sleep(1.0)
        assert len(reads) == count, "the stream went on polling for a client that left"
    finally:
        with live_server.client(live_server.tokens.write) as client:
            client.post(f"/api/v1/runs/{run_id}/cancel")
        wait_for_state(session_factory, run_id, "cancelled")


def process_gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.05)
    return False


def test_cancel_a_running_local_run_while_watching_it(
    live_server: LiveServer, running_worker: object, session_factory: sessionmaker[Session]
) -> None:
    run_id = start_printer(live_server, lines=0, pause=0.2)
    events: list[Event] = []
    with (
        live_server.client() as watcher,
        watcher.stream("GET", f"/api/v1/runs/{run_id}/stream") as response,
    ):
        for event in read_events(response):
            events.append(event)
            if event.kind == "output" and "line 3" in event.data["text"]:
                with live_server.client(live_server.tokens.write) as client:
                    reply = client.post(f"/api/v1/runs/{run_id}/cancel")
                    assert reply.status_code == 200 and reply.json()["cancel_requested"]
            if event.kind == "end":
                break
    assert events[-1].data["state"] == "cancelled"
    # (A poll may catch "running" with cancel_requested true in between; it need not.)
    assert events[-2].data == {"state": "cancelled", "cancel_requested": True}
    text = output_of(events)
    pid = int(text.split()[1])
    assert process_gone(pid), f"process {pid} survived the cancel"

    with live_server.client() as client:
        detail = client.get(f"/api/v1/runs/{run_id}").json()
        page = client.get(f"/api/v1/runs/{run_id}/output").json()
    assert detail["state"] == "cancelled"
    assert detail["events"][-1]["to_state"] == "cancelled"
    assert detail["events"][-1]["reason"] == "cancelled while running"
    # What was printed up to the cancel stays readable, live and in the final record.
    assert page["complete"] and "".join(c["text"] for c in page["chunks"]) == text
    assert "line 3" in text and detail["output"].startswith(text.split("line 3")[0])


def test_output_endpoint_pages_and_says_when_complete(
    api: Api, tokens: Tokens, session_factory: sessionmaker[Session]
) -> None:
    assert api.post("/api/v1/actions", json={"name": "noop", "argv": ["true"]}).status_code == 201
    run_id = api.post("/api/v1/actions/noop/runs", json={}).json()["id"]  # stays queued
    with session_factory.begin() as session:
        now = datetime.now(UTC)
        output.append(session, run_id, [(f"chunk {i}\n", now) for i in range(1, 6)])
    reader = api.as_(tokens.read)
    url = f"/api/v1/runs/{run_id}/output"

    page = reader.get(url, params={"limit": 2}).json()
    assert [c["seq"] for c in page["chunks"]] == [1, 2]
    assert page["chunks"][0]["text"] == "chunk 1\n"
    assert (page["next_after"], page["complete"], page["state"]) == (2, False, "queued")
    page = reader.get(url, params={"after": 2, "limit": 3}).json()
    assert [c["seq"] for c in page["chunks"]] == [3, 4, 5] and not page["complete"]

    assert api.post(f"/api/v1/runs/{run_id}/cancel").status_code == 200
    page = reader.get(url, params={"after": 3, "limit": 2}).json()
    assert [c["seq"] for c in page["chunks"]] == [4, 5]
    assert page["complete"] and page["state"] == "cancelled"  # exactly the last chunks
    page = reader.get(url, params={"after": 5}).json()
    assert page["chunks"] == [] and page["next_after"] == 5 and page["complete"]

    # A finished run's stream is the whole story at once, and resumes after Last-Event-ID.
    reply = reader.get(f"/api/v1/runs/{run_id}/stream")
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["cache-control"] == "no-cache"
    events = list(read_events(reply))
    assert [e.kind for e in events] == ["state", *["output"] * 5, "end"]
    assert [e.id for e in events] == [None, "1", "2", "3", "4", "5", None]
    assert events[-1].data == {"state": "cancelled", "exit_code": None, "error": None}
    assert reply.text.startswith("retry: ")
    resumed = list(
        read_events(
            reader.get(f"/api/v1/runs/{run_id}/stream?after=1", headers={"Last-Event-ID": "3"})
        )
    )
    assert [e.id for e in resumed if e.kind == "output"] == ["4", "5"]


def test_output_routes_check_the_run_the_token_and_the_input(api: Api, tokens: Tokens) -> None:
    for route in ("output", "stream"):
        assert api.get(f"/api/v1/runs/424242/{route}").status_code == 404
        assert api.as_(None).get(f"/api/v1/runs/1/{route}").status_code == 401
        assert api.as_(tokens.ingest).get(f"/api/v1/runs/1/{route}").status_code == 403
    bad = [
        api.get("/api/v1/runs/1/output", params={"limit": 0}),
        api.get("/api/v1/runs/1/output", params={"after": -1}),
        api.get("/api/v1/runs/1/stream", headers={"Last-Event-ID": "soon"}),
    ]
    assert [r.status_code for r in bad] == [422, 422, 422]
    assert bad[2].json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]


def test_an_idle_stream_sends_keep_alive_comments(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runoutput, "KEEPALIVE_SECONDS", 0.2)
    with live_server.client(live_server.tokens.write) as client:
        assert (
            client.post("/api/v1/actions", json={"name": "idle", "argv": ["true"]}).status_code
            == 201
        )
        run_id = client.post("/api/v1/actions/idle/runs", json={}).json()["id"]  # no worker
    lines: list[str] = []
    with (
        live_server.client() as client,
        client.stream("GET", f"/api/v1/runs/{run_id}/stream") as response,
    ):
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith(": keep-alive"):
                break
    assert 'data: {"state":"queued","cancel_requested":false}' in lines
