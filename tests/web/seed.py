"""A small dataset with a row behind every kind of page (an alert with a rule's decision, runs,
an incident, a task, an article, a target, a silence, a channel, a schedule, an escalation
policy), created through the API as people
would, for the tests that visit every page (``sophrosyne.web.sitemap``).

When a page added later needs a kind of row not made here, ``sitemap.resolve`` fails naming
the page: add that row here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx


class Poster(Protocol):
    def post(self, url: str, **kwargs: Any) -> httpx.Response: ...


TICK = {
    "name": "tick",
    "description": "Prints a few lines slowly, then who it was for.",
    "argv": [
        "/bin/bash",
        "-c",
        'for i in $(seq 1 "$1"); do echo "tick $i"; sleep 0.4; done; echo "done for $0"',
        "{{ params.service }}",
        "{{ params.count }}",
    ],
    "parameters": [
        {"name": "service", "pattern": "[a-z][a-z0-9-]*"},
        {"name": "count", "type": "int", "min": 1, "max": 9, "default": 4},
    ],
}
RULE = {
    "name": "tick-on-down",
    "matchers": ['alertname="ServiceDown"'],
    "action": "tick",
    "parameters": {"service": "{{ labels.service }}", "count": "2"},
    "mode": "confirm",
}
ALERT = {
    "labels": {"alertname": "ServiceDown", "service": "checkout", "instance": "web1"},
    "annotations": {"summary": "checkout answers 503"},
    "severity": "critical",
}
RECOMMENDATION = {
    "name": "reseat-cable",
    "title": "Reseat port {{ params.port }}",
    "instructions": "Port **{{ params.port }}** on the top-of-rack switch.",
    "responsible": ["team:dc"],
    "parameters": [{"name": "port", "type": "int", "min": 1, "max": 48}],
}


def _ok(reply: httpx.Response, *codes: int) -> dict[str, Any]:
    assert reply.status_code in codes, f"{reply.request.url}: {reply.status_code} {reply.text}"
    body: dict[str, Any] = reply.json() if reply.content else {}
    return body


def catalog(api: Poster) -> None:
    """The action and the rule the browser tests use."""
    _ok(api.post("/api/v1/actions", json=TICK), 201)
    _ok(api.post("/api/v1/rules", json=RULE), 201)


def everything(api: Poster) -> None:
    """After ``catalog``: an alert (whose rule leaves a run awaiting confirmation), a run
    started by hand, an incident holding the alert, a task, an article, a target, a silence, a
    notification channel, an on-call schedule and an escalation policy."""
    now = datetime.now(UTC)
    _ok(api.post("/api/v1/alerts", json=ALERT), 200, 202)
    _ok(api.post("/api/v1/actions/tick/runs", json={"params": {"service": "web"}}), 201)
    _ok(
        api.post(
            "/api/v1/incidents",
            json={"title": "Checkout is down", "severity": "critical", "alert_ids": [1]},
        ),
        201,
    )
    _ok(api.post("/api/v1/recommendations", json=RECOMMENDATION), 201)
    _ok(api.post("/api/v1/recommendations/reseat-cable/tasks", json={"params": {"port": 7}}), 201)
    article = {
        "slug": "checkout-down",
        "title": "Checkout is down",
        "body": "# Checkout is down\n\nRestart it with **tick**.",
        "owner": "team:shop",
        "review_by": str(now.date() + timedelta(days=90)),
        "matchers": ['alertname="ServiceDown"'],
    }
    _ok(api.post("/api/v1/knowledge", json=article), 201)
    target = {"name": "web1", "address": "127.0.0.1", "port": 22, "labels": {"role": "web"}}
    _ok(api.post("/api/v1/targets", json=target), 201)
    silence = {
        "matchers": ['alertname="DiskFull"'],
        "comment": "disk swap tonight",
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }
    _ok(api.post("/api/v1/silences", json=silence), 201)
    _ok(api.post("/api/v1/channels", json={"name": "ops"}), 201)
    layer = {"users": ["olga", "root"], "start": str(now.date()), "rotation": "weekly"}
    _ok(api.post("/api/v1/schedules", json={"name": "primary", "layers": [layer]}), 201)
    policy = {"name": "page-ops", "steps": [{"notify": {"schedule": "primary"}}]}
    _ok(api.post("/api/v1/escalation-policies", json=policy), 201)
