"""Runs executed per second by the local executor (action kind ``shell``, argv ``["true"]``)
with 1, 8 and 32 worker slots, on a fresh database of each backend.

What one run costs here is everything the worker does for it: claim it (one transaction:
the claim UPDATE, its event, an audit entry), start ``true`` in its own process group and
collect its output, record the result (one transaction: the run, its event, an audit entry).
"""

from __future__ import annotations

from pathlib import Path

import harness
from sophrosyne.crypto import generate_key
from sophrosyne.domains.actions.schemas import ActionSpec

ACTION = ActionSpec(
    name="bench-local-true",
    kind="shell",
    description="Benchmark action: runs `true` on the worker's machine.",
    argv=["true"],
    timeout_seconds=30,
)


def _no_targets(_i: int) -> list[str]:
    return []


def add_inventory(db: harness.Database, count: int) -> None:
    """``count`` targets that no run uses, each with an encrypted credential: an inventory
    beside the runs, as a real installation has one."""
    if count:
        harness.create_targets(
            db,
            [f"bench-unused-{i:05d}" for i in range(count)],
            address="192.0.2.1",  # TEST-NET-1: never contacted
            port=22,
            user="bench",
            host_keys=[],
            private_key="not a key: never used",
            key=generate_key(),
        )


def measure(
    backend: str,
    workdir: Path,
    *,
    slots: tuple[int, ...],
    sizing: harness.Sizing,
    sqlite_synchronous: str = "FULL",
    inventory: int = 0,
) -> list[harness.Series]:
    """One series per slot count, all in one fresh database (with ``inventory`` unused
    targets in it)."""
    out: list[harness.Series] = []
    with harness.database(backend, workdir, "exec", sqlite_synchronous=sqlite_synchronous) as db:
        harness.create_action(db, ACTION)
        add_inventory(db, inventory)
        for n in slots:
            series = harness.measure(
                db,
                harness.worker_settings(db, n),
                scenario="local",
                action_name=ACTION.name,
                targets=_no_targets,
                sizing=sizing,
            )
            rates = ", ".join(f"{b.rate:,.0f}" for b in series.batches)
            verdict = "OK" if series.ok else "FAILED: " + "; ".join(series.problems())
            print(
                f"  local {backend:<10} slots {n:>2}: {series.median_rate:>7,.1f} runs/s "
                f"(median of {rates}; {series.batches[0].runs} runs per batch) "
                f"| check: {verdict}",
                flush=True,
            )
            out.append(series)
    return out
