"""The benchmark's execution part still runs: the smallest local-executor measurement on SQLite.

Not a measurement: it only proves that ``bench/run.py --only exec`` builds a real worker,
drains its batches, checks every run and writes its figures (a few seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def test_bench_exec_part_measures_and_checks(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = [sys.executable, str(BENCH), "--only", "exec", "--backends", "sqlite", "--slots", "2"]
    argv += ["--exec-seconds", "0.2", "--repeats", "1", "--output", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(out.read_text())
    (series,) = doc["execution"]
    assert (series["backend"], series["slots"], series["ok"]) == ("sqlite", 2, True)
    (batch,) = series["batches"]
    assert batch["seconds"] >= 0.2
    assert batch["states"] == {"succeeded": batch["runs"]}
    assert doc["verified"] is True
    assert "Local executor" in done.stdout
