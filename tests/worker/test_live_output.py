"""Live output: the worker stores what a run prints while it runs, a few times a second."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.runs import output
from sophrosyne.executors.live import live_cut_marker
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker
from sophrosyne.worker.output import ROW_CHARS, OutputWriter
from tests.worker.test_worker import _action, _run, _settings, _state

PY = sys.executable


def chunks(sf: sessionmaker[Session], run_id: int, after: int = 0) -> list[tuple[int, str]]:
    with sf() as s:
        return [(c.seq, c.text) for c in output.after(s, run_id, seq=after)]


def live_text(sf: sessionmaker[Session], run_id: int) -> str:
    return "".join(text for _, text in chunks(sf, run_id))


def test_writer_stores_buffered_output_in_order(session_factory: sessionmaker[Session]) -> None:
    _action(session_factory, "noop", ["true"])
    run_id = _run(session_factory, "noop")
    writer = OutputWriter(session_factory, clock=lambda: datetime.now(UTC))
    sink = writer.open(run_id, limit_bytes=100_000)
    sink("one\n")
    sink("two\n")
    writer.flush()  # what the writer thread does every half second
    assert chunks(session_factory, run_id) == [(1, "one\ntwo\n")]  # joined into one row
    writer.flush()  # nothing new: nothing written
    sink("x" * (ROW_CHARS + 10))
    writer.close(run_id)
    stored = chunks(session_factory, run_id)
    assert [seq for seq, _ in stored] == [1, 2, 3]
    assert "".join(text for _, text in stored) == "one\ntwo\n" + "x" * (ROW_CHARS + 10)
    sink("after close\n")  # a late chunk is kept nowhere
    writer.flush()
    assert len(chunks(session_factory, run_id)) == 3

    # A second attempt of the same run (an idempotent run queued again) numbers on.
    again = writer.open(run_id, limit_bytes=10)
    again("attempt 2 prints far too much")
    writer.close(run_id)
    last_seq, last_text = chunks(session_factory, run_id)[-1]
    assert last_seq == 4
    assert last_text.startswith("attempt 2 ") and "stopped after 10 bytes" in last_text


def test_a_failing_write_is_retried_then_dropped_never_raised(
    session_factory: sessionmaker[Session],
) -> None:
    writer = OutputWriter(session_factory, clock=lambda: datetime.now(UTC))
    sink = writer.open(999_999, limit_bytes=1000)  # no such run: the foreign key refuses it
    sink("lost\n")
    writer.flush()
    writer.flush()
    writer.close(999_999)  # dropped with a warning, never an exception


def test_output_is_stored_while_the_run_is_in_progress(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    code = (
        "import time\nfor i in range(4):\n    print('line', i, flush=True)\n    time.sleep(0.6)\n"
    )
    _action(session_factory, "slow", [PY, "-c", code], timeout_seconds=30)
    run_id = _run(session_factory, "slow")
    worker = Worker(_settings(tmp_path), session_factory, {"shell": LocalExecutor()}, Metrics())
    seen_while_running: list[str] = []
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while (state := _state(session_factory, run_id).state) in ("queued", "running"):
            assert time.monotonic() < deadline
            text = live_text(session_factory, run_id)
            if state == "running" and text and _state(session_factory, run_id).state == "running":
                seen_while_running.append(text)
            time.sleep(0.1)
    finally:
        worker.stop(grace_seconds=5)
    run = _state(session_factory, run_id)
    assert run.state == "succeeded"
    assert seen_while_running and seen_while_running[0].startswith("line 0\n")
    assert "line 3" not in seen_while_running[0]  # stored before the command ended
    assert (
        live_text(session_factory, run_id) == run.output == "".join(f"line {i}\n" for i in range(4))
    )
    # At most about two writes a second: far fewer rows than the command printed pieces.
    assert len(chunks(session_factory, run_id)) <= 4


def test_live_output_is_capped_like_the_output(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    code = "import sys\nfor _ in range(100): sys.stdout.write('z' * 1000)"
    _action(session_factory, "loud", [PY, "-c", code])
    run_id = _run(session_factory, "loud")
    worker = Worker(_settings(tmp_path), session_factory, {"shell": LocalExecutor()}, Metrics())
    assert worker.run_one()
    run = _state(session_factory, run_id)
    assert run.output_truncated
    assert live_text(session_factory, run_id) == "z" * 4096 + "\n" + live_cut_marker(4096)


def test_sink_never_waits_for_the_database(
    session_factory: sessionmaker[Session],
) -> None:
    """While a write holds the writer's lock, an executor's chunk is buffered at once."""
    _action(session_factory, "noop", ["true"])
    run_id = _run(session_factory, "noop")
    writer = OutputWriter(session_factory, clock=lambda: datetime.now(UTC))
    sink = writer.open(run_id, limit_bytes=1000)
    with writer._writing:  # a write in progress (a slow database)
        done = threading.Event()
        threading.Thread(target=lambda: (sink("quick\n"), done.set()), daemon=True).start()
        assert done.wait(2), "the sink waited for the write"
    writer.close(run_id)
    assert live_text(session_factory, run_id) == "quick\n"
