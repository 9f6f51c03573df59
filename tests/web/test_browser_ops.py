"""The incident, task and knowledge pages in a real headless Chromium, against the real
application on loopback: a person acknowledges an incident and adds a note from its page,
marks a task done, edits an article; every page loads with no request beyond 127.0.0.1 and
no error (a Content Security Policy violation would be one), and the paused banner shows.
Screenshots go to ``test-output/screenshots/<backend>/``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, expect

from tests.api.live import LiveServer, live_server  # noqa: F401
from tests.web.test_browser import browser, log_in, pytestmark, seeded, shots  # noqa: F401

REC = {
    "name": "reseat-cable",
    "title": "Reseat port {{ params.port }}",
    "instructions": "Port **{{ params.port }}** on the top-of-rack switch.",
    "responsible": ["team:dc"],
    "parameters": [{"name": "port", "type": "int", "min": 1, "max": 48}],
}
ARTICLE = {
    "slug": "disk-full",
    "title": "Disk full",
    "body": "# Steps\n\n1. `du -sh /var/log`\n2. rotate the logs\n",
    "owner": "team:db",
    "review_by": (datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
}


def test_working_incidents_tasks_and_articles_in_a_real_browser(
    seeded: LiveServer,  # noqa: F811
    browser: Browser,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    url = seeded.url
    with seeded.client(seeded.tokens.write) as api:
        incident = api.post(
            "/api/v1/incidents",
            json={"title": "Checkout is down", "severity": "critical", "service": "checkout"},
        ).json()
        assert api.post("/api/v1/recommendations", json=REC).status_code == 201
        task = api.post(
            "/api/v1/recommendations/reseat-cable/tasks", json={"params": {"port": 7}}
        ).json()
        assert api.post("/api/v1/knowledge", json=ARTICLE).status_code == 201
        paused = api.put("/api/v1/automation", json={"paused": True, "reason": "db migration"})
        assert paused.status_code == 200
    context = browser.new_context()
    requests: list[str] = []
    problems: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = log_in(context, url, "olga")
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{url}/")
    expect(page.locator(".paused-banner")).to_contain_text("db migration")
    expect(page.get_by_role("link", name=f"#{incident['id']} Checkout is down")).to_be_visible()
    page.screenshot(path=str(shots / "dashboard-paused.png"), full_page=True)

    page.goto(f"{url}/incidents/{incident['id']}")
    page.select_option("#ack-expires", "3600")
    page.fill("#ack-note", "looking")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".flash")).to_have_text("Incident acknowledged.")
    page.fill("#note-body", "<b>not bold</b>")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline")).to_contain_text("<b>not bold</b>")
    page.screenshot(path=str(shots / "incident.png"), full_page=True)

    page.goto(f"{url}/tasks/{task['id']}")
    expect(page.locator(".prose strong")).to_have_text("7")
    page.fill("#done-note", "reseated")
    page.get_by_role("button", name="Mark done").click()
    expect(page.locator(".flash")).to_have_text("Task done.")
    page.screenshot(path=str(shots / "task.png"), full_page=True)

    page.goto(f"{url}/knowledge")
    expect(page.locator(".badge.overdue")).to_be_visible()
    page.get_by_role("link", name="Disk full").click()
    page.get_by_role("link", name="Edit article").click()
    page.fill("#title", "Disk full on db")
    page.get_by_role("button", name="Save article").click()
    expect(page.locator("main > h1")).to_have_text("Disk full on db")
    page.screenshot(path=str(shots / "article.png"), full_page=True)

    for path in ("/incidents", "/tasks", "/recommendations", "/recommendations/reseat-cable"):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        expect(page.locator(".paused-banner")).to_be_visible()
    page.screenshot(path=str(shots / "recommendation.png"), full_page=True)

    with seeded.client(seeded.tokens.write) as api:
        state = api.get(f"/api/v1/incidents/{incident['id']}").json()
        assert state["status"] == "acknowledged" and state["acknowledged_by"] == "user:olga"
        assert api.get(f"/api/v1/tasks/{task['id']}").json()["state"] == "done"
    strangers = [u for u in requests if urlsplit(u).hostname != "127.0.0.1"]
    assert requests and strangers == []
    assert problems == []
