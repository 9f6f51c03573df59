"""End to end in a real headless Chromium (Debian's, driven by Playwright): the real
application served by uvicorn on loopback with a real worker. A person logs in, sees an alert
arrive on the dashboard, opens it, runs an action from it through the generated form and
watches its output stream in; a second person approves a confirmation. Screenshots of every
main page go to ``test-output/screenshots/<backend>/``. Another test loads every page and
checks that no request leaves 127.0.0.1 and that the browser reports no error (a Content
Security Policy violation would be one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.api.conftest import People
from tests.api.helpers import PASSWORD
from tests.api.live import LiveServer, live_server, running_worker  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (scripts/system-deps.sh installs it)",
    ),
]
ARTIFACTS = Path(os.environ.get("SOPHROSYNE_TEST_ARTIFACTS", "test-output")) / "screenshots"

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


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    backend = request.node.callspec.params.get("db_url", "db")
    folder = ARTIFACTS / str(backend)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def seeded(live_server: LiveServer, people: People) -> LiveServer:  # noqa: F811
    with live_server.client(live_server.tokens.write) as api:
        assert api.post("/api/v1/actions", json=TICK).status_code == 201
        assert api.post("/api/v1/rules", json=RULE).status_code == 201
    return live_server


def log_in(context: BrowserContext, url: str, username: str) -> Page:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{url}/alerts")
    expect(page).to_have_url(f"{url}/login?next=/alerts")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/alerts")
    return page


def test_alert_to_run_to_approval_in_a_real_browser(
    seeded: LiveServer,
    running_worker: Any,  # noqa: F811
    browser: Browser,
    shots: Path,
) -> None:
    url = seeded.url
    olga = log_in(browser.new_context(), url, "olga")
    olga.goto(f"{url}/")
    expect(olga.locator("h1")).to_have_text("Dashboard")
    expect(olga.locator("main")).to_contain_text("Nothing is firing.")

    # An alert arrives through the API; the dashboard refreshes itself and shows it.
    with seeded.client(seeded.tokens.write) as api:
        assert api.post("/api/v1/alerts", json=ALERT).status_code in (200, 202)
    # Exact: the incident the alert opened is listed too, titled after it.
    alert_link = olga.get_by_role("link", name="ServiceDown", exact=True)
    expect(alert_link).to_be_visible(timeout=25_000)
    expect(olga.get_by_role("link", name="#1 ServiceDown (service=checkout)")).to_be_visible()
    olga.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    olga.goto(f"{url}/alerts?status=firing")
    olga.screenshot(path=str(shots / "alerts.png"), full_page=True)
    olga.get_by_role("link", name="ServiceDown").first.click()
    expect(olga.locator("h1")).to_contain_text("ServiceDown")
    expect(olga.locator("main")).to_contain_text("checkout answers 503")
    expect(olga.locator("main")).to_contain_text("rule:tick-on-down")
    olga.screenshot(path=str(shots / "alert.png"), full_page=True)

    # Run the action from the alert: the form is pre-filled from the rule's run.
    olga.get_by_role("link", name="Run tick…").click()
    expect(olga.locator("#param-service")).to_have_value("checkout")
    olga.fill("#param-count", "12")
    olga.get_by_role("button", name="Run tick").click()
    expect(olga.locator("#param-count-error")).to_contain_text("at most 9")
    olga.screenshot(path=str(shots / "action-form-error.png"), full_page=True)
    olga.fill("#param-count", "5")
    olga.get_by_role("button", name="Run tick").click()
    expect(olga).to_have_url(f"{url}/runs/2")
    output = olga.locator("#output")
    expect(output).to_contain_text("tick 1", timeout=15_000)
    olga.screenshot(path=str(shots / "run-live.png"), full_page=True)
    # The page reloads itself when the stream ends.
    expect(output).to_contain_text("done for checkout", timeout=15_000)
    expect(olga.locator("#run-state")).to_contain_text("succeeded", timeout=15_000)
    olga.screenshot(path=str(shots / "run.png"), full_page=True)

    # The rule's run waits for people; the second person approves exactly what was shown.
    root = log_in(browser.new_context(), url, "root")
    root.goto(f"{url}/confirmations")
    card = root.locator("#run-1")
    expect(card).to_contain_text("done for $0")
    expect(card).to_contain_text("service=checkout")
    root.screenshot(path=str(shots / "confirmations.png"), full_page=True)
    card.get_by_role("button", name="Approve").click()
    expect(root).to_have_url(f"{url}/runs/1?done=queued")
    expect(root.locator("#output")).to_contain_text("done for checkout", timeout=15_000)
    expect(root.locator("#run-state")).to_contain_text("succeeded", timeout=15_000)

    root.goto(f"{url}/runs")
    root.screenshot(path=str(shots / "runs.png"), full_page=True)
    root.goto(f"{url}/actions")
    root.screenshot(path=str(shots / "actions.png"), full_page=True)
    root.goto(f"{url}/actions/tick")
    root.screenshot(path=str(shots / "action.png"), full_page=True)


def test_no_page_makes_a_request_beyond_loopback_or_breaks_the_policy(
    seeded: LiveServer, browser: Browser
) -> None:
    url = seeded.url
    with seeded.client(seeded.tokens.write) as api:
        assert api.post("/api/v1/alerts", json=ALERT).status_code in (200, 202)
        run = api.post("/api/v1/actions/tick/runs", json={"params": {"service": "web"}})
        assert run.status_code == 201
    context = browser.new_context()
    requests: list[str] = []
    problems: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = log_in(context, url, "root")
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    for path in (
        "/",
        "/alerts",
        "/alerts/1",
        "/actions",
        "/actions/tick",
        "/runs",
        "/runs/1",
        "/confirmations",
        "/maintenance",
        "/fatigue",
        "/password",
        "/no-such-page",
    ):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
    page.goto(url + "/runs/2")
    page.wait_for_timeout(300)
    assert requests, "the browser made no request at all"
    strangers = [u for u in requests if urlsplit(u).hostname != "127.0.0.1"]
    assert strangers == []
    assert any("/static/app.js" in u for u in requests)
    assert any("/static/app.css" in u for u in requests)
    assert [p for p in problems if "404" not in p] == []
