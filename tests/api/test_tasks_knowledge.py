"""Tasks, runbook articles and ranked fixes through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.helpers import Api, loc_of

REC = {
    "name": "reseat-cable",
    "title": "Reseat port {{ params.port }}",
    "instructions": "Port **{{ params.port }}** on the top-of-rack switch.",
    "responsible": ["team:dc"],
    "parameters": [{"name": "port", "type": "int", "min": 1, "max": 48}],
}


def _alert(api: Api, status: str = "firing") -> int:
    r = api.post(
        "/api/v1/alerts",
        json={"labels": {"alertname": "LinkDown", "role": "tor", "instance": "sw1"},
              "status": status, "fingerprint": "sw1-link"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    [alert] = api.get("/api/v1/alerts", params={"fingerprint": "sw1-link"}).json()["items"]
    return int(alert["id"])


def _open(api: Api, **body: Any) -> dict[str, Any]:
    if api.get("/api/v1/recommendations/reseat-cable").status_code == 404:
        assert api.post("/api/v1/recommendations", json=REC).status_code == 201
    r = api.post("/api/v1/recommendations/reseat-cable/tasks", json={"params": {"port": 7}, **body})
    assert r.status_code == 201, r.text
    task: dict[str, Any] = r.json()
    return task


def test_task_lifecycle(api: Api) -> None:
    task = _open(api)
    assert task["state"] == "open" and task["title"] == "Reseat port 7"
    assert (
        task["instructions_html"] == "<p>Port <strong>7</strong> on the top-of-rack switch.</p>\n"
    )
    assert task["responsible"] == ["team:dc"] and task["notes"] == []
    url = f"/api/v1/tasks/{task['id']}"

    r = api.post(f"{url}/acknowledge")
    assert r.status_code == 200 and r.json()["assignee"] == "token:writer"
    assert r.json()["acknowledged_at"] is not None
    assert api.post(f"{url}/acknowledge").status_code == 409
    r = api.post(f"{url}/notes", json={"body": "cable was loose"})
    assert r.status_code == 201 and r.json()["author"] == "token:writer"
    assert api.put(f"{url}/assignee", json={"assignee": "alice"}).json()["assignee"] == "alice"
    r = api.post(f"{url}/done", json={"note": "reseated; link up"})
    assert r.status_code == 200 and r.json()["state"] == "done"

    r = api.post(f"{url}/dismiss")
    assert r.status_code == 409 and "from done to dismissed" in r.json()["detail"]
    assert api.put(f"{url}/assignee", json={"assignee": "bob"}).status_code == 409
    detail = api.get(url).json()
    assert [n["body"] for n in detail["notes"]] == ["cable was loose", "reseated; link up"]
    assert detail["assignee"] == "alice" and detail["done_at"] is not None

    listed = api.get("/api/v1/tasks", params={"state": "done"}).json()["items"]
    assert [t["id"] for t in listed] == [task["id"]]
    assert api.get("/api/v1/tasks", params={"state": "open"}).json()["items"] == []
    assert api.get("/api/v1/tasks", params={"state": "bogus"}).status_code == 422
    assert api.get("/api/v1/tasks/999").status_code == 404
    events = [e["action"] for e in api.get("/api/v1/audit", params={"object_type": "task"})
              .json()["items"]]  # fmt: skip
    assert events == [
        "task.done",
        "task.assigned",
        "task.note_added",
        "task.acknowledged",
        "task.created",
    ]


def test_bad_task_input_names_the_field(api: Api) -> None:
    _open(api)
    r = api.post("/api/v1/recommendations/reseat-cable/tasks", json={"params": {"port": 99}})
    assert loc_of(r) == [["params", "port"]]
    assert api.post("/api/v1/recommendations/nope/tasks", json={}).status_code == 404
    r = api.post("/api/v1/recommendations/reseat-cable/tasks", json={"params": {"port": 1},
                 "alert_id": 12345})  # fmt: skip
    assert r.status_code == 404
    assert loc_of(api.post("/api/v1/tasks/1/notes", json={"body": ""})) == [["body"]]


def test_done_task_teaches_the_fix_ranking(api: Api) -> None:
    alert_id = _alert(api)
    task = _open(api, alert_id=alert_id)
    assert task["alert_id"] == alert_id and task["alert_episode"] == 1
    api.post(f"/api/v1/tasks/{task['id']}/acknowledge")
    _alert(api, "resolved")
    api.post(f"/api/v1/tasks/{task['id']}/done")
    assert [t["id"] for t in api.get("/api/v1/tasks", params={"alert_id": alert_id})
            .json()["items"]] == [task["id"]]  # fmt: skip

    ranking = api.get(f"/api/v1/alerts/{alert_id}/fixes").json()
    assert ranking["signature"] == {"alertname": "LinkDown", "role": "tor"}
    assert ranking["window_seconds"] == 1800
    [fix] = ranking["fixes"]
    assert (fix["kind"], fix["name"], fix["successes"], fix["attempts"]) == (
        "recommendation",
        "reseat-cable",
        1,
        1,
    )
    assert fix["summary"].startswith("reseat-cable resolved LinkDown on role=tor 1 times out of 1")
    assert api.get("/api/v1/alerts/999/fixes").status_code == 404


def _article(slug: str, review_by: str, **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": slug,
        "body": f"# {slug}\n\nCheck the [switch](https://sw1.example).",
        "owner": "team:dc",
        "review_by": review_by,
        **extra,
    }


def test_knowledge_crud_overdue_and_alert_articles(api: Api) -> None:
    today = datetime.now(UTC).date()
    past, future = str(today - timedelta(days=3)), str(today + timedelta(days=90))
    link = _article("link-down", future, matchers=['alertname="LinkDown"'], recommendations=[
        "reseat-cable"])  # fmt: skip
    r = api.post("/api/v1/knowledge", json=link)
    assert r.status_code == 201, r.text
    assert r.json()["overdue"] is False
    assert 'rel="noopener noreferrer"' in r.json()["body_html"]
    assert api.post("/api/v1/knowledge", json=_article("stale", past)).status_code == 201
    assert api.post("/api/v1/knowledge", json=link).status_code == 409

    assert [a["slug"] for a in api.get("/api/v1/knowledge/overdue").json()] == ["stale"]
    assert [a["slug"] for a in api.get("/api/v1/knowledge").json()] == ["link-down", "stale"]
    by_rec = api.get("/api/v1/knowledge", params={"recommendation": "reseat-cable"}).json()
    assert [a["slug"] for a in by_rec] == ["link-down"]
    alert_id = _alert(api)
    about = api.get(f"/api/v1/alerts/{alert_id}/knowledge").json()
    assert [a["slug"] for a in about] == ["link-down"]

    r = api.put("/api/v1/knowledge/stale", json=_article("stale", future))
    assert r.status_code == 200 and r.json()["overdue"] is False
    assert api.get("/api/v1/knowledge/overdue").json() == []
    assert ["review_by"] in loc_of(api.post("/api/v1/knowledge", json=_article("x", "soon")))
    assert ["matchers"] in loc_of(
        api.post("/api/v1/knowledge", json=_article("y", future, matchers=["bad matcher"]))
    )
    assert api.delete("/api/v1/knowledge/stale").status_code == 204
    assert api.get("/api/v1/knowledge/stale").status_code == 404


def test_unsafe_article_is_refused_and_audited(api: Api) -> None:
    future = str(datetime.now(UTC).date() + timedelta(days=9))
    bad = _article("xss", future, body='Hi <a href="javascript:alert(1)">there</a>')
    r = api.post("/api/v1/knowledge", json=bad)
    assert loc_of(r) == [["body"]] and "javascript: URL" in r.json()["detail"][0]["msg"]
    assert api.get("/api/v1/knowledge/xss").status_code == 404
    [entry] = api.get("/api/v1/audit", params={"action": "article.refused"}).json()["items"]
    assert entry["object_id"] == "xss" and entry["detail"]["errors"][0]["loc"] == "body"
