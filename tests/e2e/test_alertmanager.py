"""End to end with a real Prometheus Alertmanager sending its real webhook.

Alertmanager (Debian's package) runs on loopback, configured to notify a real
``sophrosyne serve`` process started by the test with the demo configuration. Alerts posted to
Alertmanager must lead to a succeeded run of the demo action, and their resolution to a
resolved alert. No hand-written copy of the payload stands in for Alertmanager's here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import (
    SOPHROSYNE,
    alertmanager_binary,
    cli,
    free_port,
    running,
    sophrosyne_env,
    tail,
    wait_for,
)

pytestmark = pytest.mark.e2e
DEMO = Path(__file__).resolve().parents[2] / "demo"
LABELS = {
    "alertname": "HighErrorRate",
    "service": "checkout",
    "instance": "127.0.0.1:9100",
    "severity": "critical",
}


@dataclass
class Stack:
    api: httpx.Client
    am: httpx.Client
    server_log: Path
    am_log: Path

    def logs(self) -> str:
        return (
            f"--- sophrosyne ---\n{tail(self.server_log)}\n"
            f"--- alertmanager ---\n{tail(self.am_log)}"
        )


def _am_config(path: Path, webhook: str, token: str) -> None:
    path.write_text(
        f"""
route:
  receiver: sophrosyne
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sophrosyne
    webhook_configs:
      - url: {webhook}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""
    )


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[Stack]:
    port, am_port = free_port(), free_port()
    env = sophrosyne_env(
        db_url, tmp_path / "data", SOPHROSYNE_PORT=str(port), SOPHROSYNE_WORKER_POLL_SECONDS="0.2"
    )
    cli(["db", "upgrade"], env)
    ingest = cli(["token", "create", "alertmanager", "--scope", "ingest"], env).strip()
    reader = cli(["token", "create", "reader", "--scope", "read"], env).strip()
    _am_config(tmp_path / "am.yml", f"http://127.0.0.1:{port}/api/v1/alerts/alertmanager", ingest)
    server_log, am_log = tmp_path / "sophrosyne.log", tmp_path / "alertmanager.log"
    am_cmd = [
        alertmanager_binary(),
        f"--config.file={tmp_path / 'am.yml'}",
        f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    with (
        running([*SOPHROSYNE, "serve", "--config-dir", str(DEMO)], env=env, log=server_log),
        running(am_cmd, env=env, log=am_log),
        httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {reader}"},
            timeout=10,
        ) as api,
        httpx.Client(base_url=f"http://127.0.0.1:{am_port}", timeout=10) as am,
    ):
        s = Stack(api=api, am=am, server_log=server_log, am_log=am_log)
        wait_for(lambda: api.get("/readyz").status_code == 200, timeout=30, what="sophrosyne ready")
        wait_for(
            lambda: am.get("/-/ready").status_code == 200, timeout=30, what="alertmanager ready"
        )
        yield s


def _post_to_alertmanager(am: httpx.Client, *, ends_at: datetime) -> None:
    now = datetime.now(UTC)
    body = [
        {
            "labels": LABELS,
            "annotations": {"summary": "5xx ratio above 5%"},
            "startsAt": (now - timedelta(minutes=1)).isoformat(),
            "endsAt": ends_at.isoformat(),
            "generatorURL": "http://127.0.0.1:9090/graph",
        }
    ]
    assert am.post("/api/v2/alerts", json=body).status_code == 200


def _our_alert(api: httpx.Client) -> dict[str, Any] | None:
    items = api.get("/api/v1/alerts", params={"source": "alertmanager"}).json()["items"]
    return items[0] if items else None


def test_alertmanager_webhook_runs_the_demo_action_and_resolves(stack: Stack) -> None:
    api, am = stack.api, stack.am
    _post_to_alertmanager(am, ends_at=datetime.now(UTC) + timedelta(hours=1))
    try:
        alert = wait_for(lambda: _our_alert(api), timeout=30, what="alert from Alertmanager")
        am_alerts = am.get("/api/v2/alerts").json()
        assert alert["fingerprint"] == am_alerts[0]["fingerprint"]  # kept verbatim
        assert alert["labels"] == LABELS and alert["status"] == "firing"

        def succeeded_run() -> dict[str, Any] | None:
            detail = api.get(f"/api/v1/alerts/{alert['id']}").json()
            done = [r for r in detail["runs"] if r["state"] == "succeeded"]
            return done[0] if done else None

        run = wait_for(succeeded_run, timeout=30, what="a succeeded run")
        full = api.get(f"/api/v1/runs/{run['id']}").json()
        assert full["exit_code"] == 0
        assert "checkout" in " ".join(full["argv"])
        assert [e["to_state"] for e in full["events"]] == ["queued", "running", "succeeded"]

        _post_to_alertmanager(am, ends_at=datetime.now(UTC) - timedelta(seconds=1))
        resolved = wait_for(
            lambda: (a := _our_alert(api)) and a["status"] == "resolved" and a,
            timeout=30,
            what="the resolved notification",
        )
        detail = api.get(f"/api/v1/alerts/{resolved['id']}").json()
        assert [(h["from_status"], h["to_status"]) for h in detail["history"]] == [
            (None, "firing"),
            ("firing", "resolved"),
        ]
        # One episode, one run, however often Alertmanager re-sent the group.
        assert len(detail["runs"]) == 1
        ingested = api.get("/api/v1/audit", params={"action": "alerts.ingested"}).json()
        assert {e["actor"] for e in ingested["items"]} == {"token:alertmanager"}
    except AssertionError:
        print(stack.logs())
        raise
