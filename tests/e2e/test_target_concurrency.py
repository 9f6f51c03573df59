"""Two real worker processes on PostgreSQL, runs competing for the same targets: never two
runs on one target at once, and every run still runs (queued, not dropped)."""

from __future__ import annotations

import itertools
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.runs.models import Run
from sophrosyne.flows.manual import run_action
from tests.e2e.procs import SOPHROSYNE, running, sophrosyne_env, tail, wait_for
from tests.factories import add_targets

pytestmark = pytest.mark.e2e

#: Appends "<start> <end> <tag>" (monotonic clock, shared by processes on one machine).
STAMP = (
    "import sys, time; s = time.monotonic(); time.sleep(0.2); "
    "open(sys.argv[1], 'a').write(f'{s} {time.monotonic()} {sys.argv[2]}\\n')"
)
FAST = {"SOPHROSYNE_WORKER_POLL_SECONDS": "0.05", "SOPHROSYNE_WORKER_SLOTS": "3"}


def test_two_worker_processes_share_targets_one_run_at_a_time(pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    sf = make_session_factory(engine)
    now = datetime.now(UTC)
    spans = tmp_path / "spans.txt"
    with sf.begin() as s:
        add_targets(s, now, "tc-a", "tc-b", "tc-c")
        argv = [sys.executable, "-c", STAMP, str(spans), "{{ params.tag }}"]
        actions.create(
            s, ActionSpec(name="stamp", argv=argv, parameters=[{"name": "tag"}]), now=now
        )
    plan = [["tc-a"]] * 6 + [["tc-b"]] * 4 + [["tc-a", "tc-b"]] * 2 + [["tc-c"]] * 4
    with sf.begin() as s:
        ids = [
            run_action(s, "stamp", {"tag": ",".join(t)}, actor="test", now=now, targets=t).id
            for t in plan
        ]

    def all_done() -> bool:
        with sf() as s:
            return {r.state for r in s.scalars(select(Run).where(Run.id.in_(ids)))} == {"succeeded"}

    env = sophrosyne_env(pg_url, tmp_path, **FAST)
    log1, log2 = tmp_path / "w1.log", tmp_path / "w2.log"
    try:
        with (
            running([*SOPHROSYNE, "worker"], env=env, log=log1),
            running([*SOPHROSYNE, "worker"], env=env, log=log2),
        ):
            wait_for(all_done, timeout=60, what="every run to succeed", every=0.2)
    except AssertionError:
        print(tail(log1), tail(log2))
        raise
    finally:
        engine.dispose()
    by_target: dict[str, list[tuple[float, float]]] = {}
    for line in spans.read_text().splitlines():
        start, end, tag = line.split()
        for name in tag.split(","):
            by_target.setdefault(name, []).append((float(start), float(end)))
    assert {k: len(v) for k, v in by_target.items()} == {"tc-a": 8, "tc-b": 6, "tc-c": 4}
    for name, found in by_target.items():
        found.sort()
        for (_, end), (start, _) in itertools.pairwise(found):
            assert start >= end, f"two runs overlapped on {name}"
