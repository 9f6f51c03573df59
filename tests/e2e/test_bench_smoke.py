"""The benchmark's execution part still runs: the smallest local-executor measurement on SQLite.

Not a measurement: it only proves that ``bench/run.py --only exec`` builds a real worker,
drains its batches, checks every run and writes its figures (a few seconds).
"""

from __future__ import annotations

import json
import shutil
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


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_bench_ingest_with_noise_control_measures_beside_the_spine(tmp_path: Path) -> None:
    """The noise scenario's server has its silences, inhibition and grouping rules loaded
    (the bench refuses to measure otherwise), and its alerts pass the same database check."""
    out = tmp_path / "bench.json"
    argv = [sys.executable, str(BENCH), "--only", "ingest", "--backends", "sqlite"]
    argv += ["--batches", "10", "--duration", "1", "--no-alertmanager", "--output", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(out.read_text())
    noise = doc["ingest_noise"]
    assert (noise["silences"], noise["inhibit_rules"], noise["incident_rules"]) == (100, 20, 1)
    (spine,) = doc["ingest"]
    (measured,) = noise["measurements"]
    assert (spine["target"], measured["target"]) == ("sophrosyne-sqlite", "sophrosyne-sqlite+noise")
    stored = measured["verification"]["stored"]
    assert measured["verification"]["ok"] is True and stored["alerts"] > 0
    assert stored["runs"] == stored["alerts"] == stored["linked"]
    assert doc["verified"] is True
    assert "with noise alerts/s" in done.stdout
