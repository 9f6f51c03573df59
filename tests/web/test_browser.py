"""End to end in a real headless Chromium (Debian's, driven by Playwright): the real
application served by uvicorn on loopback with a real worker. A person logs in, sees an alert
arrive on the dashboard, opens it, runs an action from it through the generated form and
watches its output stream in; a second person approves a confirmation and exports the
actions report as CSV. Screenshots of every
main page go to ``test-output/screenshots/<backend>/``. Another test loads every page the
routes declare (``web.sitemap``), screenshots each into ``…/<backend>/pages/``, and checks
that each answers 200, that no request leaves 127.0.0.1 and that the browser reports no error
and no Content Security Policy violation."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import Engine

from sophrosyne.web import sitemap
from tests.api.conftest import People
from tests.api.helpers import PASSWORD
from tests.api.live import LiveServer, live_server, running_worker  # noqa: F401
from tests.web import seed

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (scripts/system-deps.sh installs it)",
    ),
]
ARTIFACTS = Path(os.environ.get("SOPHROSYNE_TEST_ARTIFACTS", "test-output")) / "screenshots"


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
        seed.catalog(api)
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
        assert api.post("/api/v1/alerts", json=seed.ALERT).status_code in (200, 202)
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

    # The actions report counts both runs, and its CSV export is what the browser downloads.
    root.goto(f"{url}/reports/actions?window=24h")
    expect(root.locator("main")).to_contain_text("tick")
    root.screenshot(path=str(shots / "report-actions.png"), full_page=True)
    with root.expect_download() as download:
        root.get_by_role("link", name="Export CSV").click()
    saved = shots / "report-actions.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    [tick] = [r for r in rows if r["action"] == "tick"]
    assert (tick["runs"], tick["succeeded"], tick["failed"]) == ("2", "2", "0")


#: Recorded in every page before its own scripts: Content Security Policy violations.
_WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_every_page_loads_from_loopback_only_without_errors(
    seeded: LiveServer, app: FastAPI, engine: Engine, browser: Browser, shots: Path
) -> None:
    """Every page the routes declare (``web.sitemap``), with its parameters filled from the
    database: it answers 200, the browser reports no error and no policy violation, nothing
    is requested beyond 127.0.0.1, and a screenshot of it is kept."""
    url = seeded.url
    with seeded.client(seeded.tokens.write) as api:
        seed.everything(api)
    with engine.connect() as conn:
        visits = [(p, p.url(sitemap.resolve(conn, p))) for p in sitemap.pages(app)]
    found = [(p, path) for p, path in visits if not p.download]
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    context.add_init_script(_WATCH_CSP)
    page = log_in(context, url, "root")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    folder = shots / "pages"
    folder.mkdir(exist_ok=True)
    for site_page, path in found:
        reply = page.goto(url + path)
        assert reply is not None and reply.status == 200, f"{site_page.path} as {path}"
        # A page following a live run keeps its stream open: "load", then a moment for the
        # scripts, rather than waiting for the network to go quiet.
        page.wait_for_timeout(150)
        page.screenshot(path=str(folder / f"{site_page.name}.png"), full_page=True)
        violations = page.evaluate("window.__cspViolations")
        assert violations == [], f"{path}: {violations}"
        assert problems == [], f"{path}: {problems}"
    # Downloads (an export, a calendar) are fetched with the session, not shown.
    for site_page, path in visits:
        if site_page.download:
            got = context.request.get(url + path)
            assert got.status == 200, f"{site_page.path} as {path}: {got.status}"
    missing = page.goto(url + "/no-such-page")
    assert missing is not None and missing.status == 404
    assert requests, "the browser made no request at all"
    strangers = [u for u in requests if urlsplit(u).hostname != "127.0.0.1"]
    assert strangers == []
    assert any("/static/app.js" in u for u in requests)
    assert any("/static/app.css" in u for u in requests)
    assert len(list(folder.glob("*.png"))) >= len(found)
