"""What the benchmark feeds Sophrosyne: the generated config directory and alert payloads.

The config is one shell action and ``RULES`` rules in mode ``auto``; rule ``i`` matches
``alertname="BenchAlert<i>"`` and ``instance=~".+"``, so an alert named ``BenchAlert<k>`` (with
an instance label) matches exactly one rule and enqueues exactly one run.

The *noise* scenario adds what a real installation has on the ingest path besides: an incident
grouping rule, ``NOISE_INHIBIT_RULES`` inhibition rules and ``NOISE_SILENCES`` active
silences, all evaluated for the benchmark's alerts and none holding one back (so every alert
still enqueues its run and the same database check applies; see ``noise_sections``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RULES = 100
ALERTNAME = "BenchAlert"
NOISE_SILENCES = 100
NOISE_INHIBIT_RULES = 20
#: Alertmanager's "no end time", as its webhook sends it for firing alerts.
NO_END = "0001-01-01T00:00:00Z"

#: The ingest action: real argument rendering from a typed parameter; never executed there
#: (the server runs with --no-worker).
INGEST_ACTION: dict[str, Any] = {
    "name": "bench-true",
    "kind": "shell",
    "description": "Benchmark action: does nothing, with the alert's instance as argument.",
    "argv": ["true", "{{ params.host }}"],
    "parameters": [{"name": "host", "type": "string", "description": "The alert's instance."}],
    "timeout_seconds": 30,
}
#: The latency action: as fast as a real command can be.
LATENCY_ACTION: dict[str, Any] = {
    "name": "bench-fast",
    "kind": "shell",
    "description": "Benchmark action for latency: runs `true`.",
    "argv": ["true"],
    "timeout_seconds": 30,
}


def rfc3339(when: datetime) -> str:
    """UTC time as Alertmanager writes it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_times() -> tuple[str, str]:
    """(startsAt a minute ago, endsAt an hour ahead): firing alerts for Alertmanager's API."""
    now = datetime.now(UTC)
    return rfc3339(now - timedelta(minutes=1)), rfc3339(now + timedelta(hours=1))


def noise_sections() -> dict[str, Any]:
    """Grouping and inhibition for the noise scenario, as config-as-code sections.

    * One grouping rule for the benchmark's job, by ``alertname`` and ``job`` (Alertmanager's
      usual ``group_by``): the alerts fall into 100 incidents, each alert a link to one.
    * Inhibition rule ``i`` inhibits ``BenchAlert<i>`` while a ``BenchOutage<i>`` with the same
      ``job`` fires: the target side matches a fifth of the alerts (so nearly every batch of
      10 or more looks for sources among the firing alerts), and no source ever fires.
    """
    return {
        "incident_rules": [
            {
                "name": "bench-by-alertname",
                "matchers": ['job="bench"'],
                "group_by": ["alertname", "job"],
                "window_seconds": 3600,
            }
        ],
        "inhibit_rules": [
            {
                "source_matchers": [f'alertname="BenchOutage{i}"'],
                "target_matchers": [f'alertname="{ALERTNAME}{i}"'],
                "equal": ["job"],
            }
            for i in range(NOISE_INHIBIT_RULES)
        ],
    }


def noise_silences(now: datetime) -> list[dict[str, Any]]:
    """``NOISE_SILENCES`` silences active for a day: silence ``i`` holds back ``BenchAlert<i>``
    on host ``maintenance-<i>``, so each alert passes its alertname's matcher and fails on
    ``instance`` (the benchmark's instances are ``bench-…``): checked, never silencing."""
    return [
        {
            "matchers": [f'alertname="{ALERTNAME}{i % RULES}"', f'instance="maintenance-{i}"'],
            "comment": f"benchmark: maintenance of host {i}",
            "starts_at": now - timedelta(minutes=1),
            "ends_at": now + timedelta(days=1),
        }
        for i in range(NOISE_SILENCES)
    ]


def write_config(
    directory: Path, action: dict[str, Any], *, rules: int = RULES, noise: bool = False
) -> Path:
    """Write ``bench.yaml`` with ``action`` and ``rules`` rules into ``directory`` (and, with
    ``noise``, the grouping and inhibition rules of ``noise_sections``).

    JSON is valid YAML, and writing JSON keeps the quoting of matchers exact.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with_host = any(p["name"] == "host" for p in action.get("parameters", []))
    doc = {
        "actions": [action],
        "rules": [
            {
                "name": f"bench-rule-{i:03d}",
                "description": f"Benchmark rule {i}",
                "matchers": [f'alertname="{ALERTNAME}{i}"', 'instance=~".+"'],
                "on_status": ["firing"],
                "action": action["name"],
                "parameters": {"host": "{{ labels.instance }}"} if with_host else {},
                "mode": "auto",
                "cooldown_seconds": 0,
            }
            for i in range(rules)
        ],
    }
    if noise:
        doc |= noise_sections()
    path = directory / "bench.yaml"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def webhook(n: int, *, tag: str, starts_at: str) -> dict[str, Any]:
    """A webhook (payload version 4) with one unique firing alert number ``n``."""
    instance = f"latency-{tag}-{n}"
    return {
        "version": "4",
        "groupKey": f'{{}}:{{instance="{instance}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "bench",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": f"{ALERTNAME}{n % RULES}",
                    "instance": instance,
                    "job": "bench",
                    "severity": "warning",
                },
                "annotations": {"summary": f"latency probe {n}"},
                "startsAt": starts_at,
                "endsAt": NO_END,
                "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
                "fingerprint": f"{0xFFFF:04x}{n:012x}",
            }
        ],
    }
