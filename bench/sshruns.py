"""SSH runs through the worker against a real sshd on loopback (action kind ``ssh``,
argv ``["true"]``).

The inventory holds ``targets`` targets that all point at the one benchmark sshd (each with
its host key trusted, and the user's private key stored as an encrypted ``ssh_private_key``
secret), and the worker decrypts them with the key given in its settings, as in production.
Every target of every run is a new SSH connection: TCP, key exchange, host key check,
public key authentication, one exec channel, close.

* single-target runs: each run addresses one target (round robin), with 1 and 16 worker
  slots (runs executed at once); figure: runs/s.
* fan-out runs: each run addresses every target, with the action's ``parallelism`` 1 and 16
  (targets at once within a run), one worker slot; figure: targets/s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import harness
import sshd
from sophrosyne.crypto import generate_key
from sophrosyne.domains.actions.schemas import ActionSpec


def action(name: str, parallelism: int) -> ActionSpec:
    return ActionSpec(
        name=name,
        kind="ssh",
        description="Benchmark action: runs `true` on its targets over SSH.",
        argv=["true"],
        parallelism=parallelism,
        timeout_seconds=60,
    )


def create_targets(db: harness.Database, server: sshd.Sshd, count: int, key: str) -> list[str]:
    """``count`` targets on ``server``, each with the user key as its encrypted secret."""
    names = [f"bench-ssh-{i:03d}" for i in range(count)]
    harness.create_targets(
        db,
        names,
        address=server.host,
        port=server.port,
        user=server.user,
        host_keys=[server.host_public_key],
        private_key=server.user_private_key,
        key=key,
    )
    return names


def _show(series: harness.Series, what: str, unit_rate: bool) -> None:
    rates = ", ".join(f"{b.unit_rate if unit_rate else b.rate:,.1f}" for b in series.batches)
    figure = series.median_unit_rate if unit_rate else series.median_rate
    unit = "targets/s" if unit_rate else "runs/s"
    verdict = "OK" if series.ok else "FAILED: " + "; ".join(series.problems())
    print(
        f"  ssh {series.backend:<10} {what}: {figure:>7,.1f} {unit} "
        f"(median of {rates}; {series.batches[0].runs} runs per batch, mean run "
        f"{series.batches[0].mean_run_ms:,.0f} ms) | check: {verdict}",
        flush=True,
    )


def measure(
    backend: str,
    workdir: Path,
    *,
    slots: tuple[int, ...],
    parallelism: tuple[int, ...],
    target_count: int,
    sizing: harness.Sizing,
    sqlite_synchronous: str = "FULL",
    max_startups: str = sshd.MAX_STARTUPS,
) -> tuple[list[harness.Series], list[harness.Series], sshd.Sshd]:
    """(single-target series per slot count, fan-out series per parallelism, the sshd used)."""
    single: list[harness.Series] = []
    fanout: list[harness.Series] = []
    key = generate_key()
    with (
        sshd.sshd(workdir / "sshd", max_startups=max_startups) as server,
        harness.database(backend, workdir, "ssh", sqlite_synchronous=sqlite_synchronous) as db,
    ):
        names = create_targets(db, server, target_count, key)
        one = action("bench-ssh-true", 1)
        harness.create_action(db, one)

        def round_robin(i: int) -> list[str]:
            return [names[i % len(names)]]

        for n in slots:
            series = harness.measure(
                db,
                harness.worker_settings(db, n, secret_key=key),
                scenario="ssh-single",
                action_name=one.name,
                targets=round_robin,
                sizing=dataclasses.replace(sizing, warmup_runs=max(20, 2 * n)),
            )
            _show(series, f"single-target, slots {n:>2}", unit_rate=False)
            single.append(series)

        every: Callable[[int], list[str]] = lambda _i: list(names)  # noqa: E731
        for p in parallelism:
            fan = action(f"bench-ssh-fanout-p{p}", p)
            harness.create_action(db, fan)
            series = harness.measure(
                db,
                harness.worker_settings(db, 1, secret_key=key),
                scenario="ssh-fanout",
                action_name=fan.name,
                targets=every,
                sizing=dataclasses.replace(sizing, warmup_runs=2),
                parallelism=p,
            )
            _show(series, f"{target_count} targets per run, parallelism {p:>2}", unit_rate=True)
            fanout.append(series)
    return single, fanout, server
