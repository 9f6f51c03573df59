"""The task and recommendation pages through HTTP on both backends: the list and its filters,
a task's sanitised instructions and notes, acknowledge / done / dismiss from the page (checked
through the API), what a viewer sees and may do, CSRF and escaping."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import Api
from tests.web.conftest import Person

REC = {
    "name": "reseat-cable",
    "title": "Reseat port {{ params.port }}",
    "instructions": "Port **{{ params.port }}** on the top-of-rack switch.",
    "responsible": ["team:dc"],
    "parameters": [{"name": "port", "type": "int", "min": 1, "max": 48,
                    "description": "switch port"}],
}  # fmt: skip


def _open(api: Api, port: int = 7, **body: Any) -> dict[str, Any]:
    if api.get("/api/v1/recommendations/reseat-cable").status_code == 404:
        assert api.post("/api/v1/recommendations", json=REC).status_code == 201
    r = api.post(
        "/api/v1/recommendations/reseat-cable/tasks", json={"params": {"port": port}, **body}
    )
    assert r.status_code == 201, r.text
    task: dict[str, Any] = r.json()
    return task


def _task(api: Api, task_id: int) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/api/v1/tasks/{task_id}").json()
    return found


def test_list_filters_by_state_and_by_me(api: Api, person: Any) -> None:
    mine = _open(api, 7, assignee="user:olga")
    other = _open(api, 9)
    api.post(f"/api/v1/tasks/{other['id']}/dismiss", json={"note": "no such port"})
    olga: Person = person("olga")

    page = olga.get("/tasks")
    assert page.status_code == 200
    assert page.text.index("Reseat port 9") < page.text.index("Reseat port 7")
    mine_only = olga.get("/tasks?mine=true").text
    assert "Reseat port 7" in mine_only and "Reseat port 9" not in mine_only
    dismissed = olga.get("/tasks?state=dismissed").text
    assert "Reseat port 9" in dismissed and "Reseat port 7" not in dismissed
    assert "Reseat port 7" not in olga.get("/tasks?state=open&mine=true&before_id=1").text
    assert olga.get("/tasks?state=bogus").status_code == 400
    assert f'href="/tasks/{mine["id"]}"' in page.text
    # The dashboard lists my open tasks, linked.
    assert f'href="/tasks/{mine["id"]}"' in olga.get("/").text


def test_a_task_shows_its_instructions_and_is_worked_from_the_page(api: Api, person: Any) -> None:
    task = _open(api)
    tid = task["id"]
    olga: Person = person("olga")
    page = olga.get(f"/tasks/{tid}")
    assert page.status_code == 200
    assert "<p>Port <strong>7</strong> on the top-of-rack switch.</p>" in page.text
    assert "team:dc" in page.text
    for action in ("acknowledge", "done", "dismiss", "notes"):
        assert f'action="/tasks/{tid}/{action}"' in page.text, action

    r = olga.post(f"/tasks/{tid}/acknowledge", {"note": "going to the DC"})
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{tid}?done=task_acknowledged"
    now = _task(api, tid)
    assert now["state"] == "acknowledged" and now["assignee"] == "user:olga"
    page = olga.get(r.headers["location"]).text
    assert "Task acknowledged." in page and f'action="/tasks/{tid}/acknowledge"' not in page

    assert olga.post(f"/tasks/{tid}/notes", {"body": ""}).status_code == 422
    assert olga.post(f"/tasks/{tid}/notes", {"body": "cable was loose"}).status_code == 303
    assert olga.post(f"/tasks/{tid}/dismiss", {"note": " "}).status_code == 422
    r = olga.post(f"/tasks/{tid}/done", {"note": "reseated; link up"})
    assert r.status_code == 303
    now = _task(api, tid)
    assert now["state"] == "done" and now["done_at"] is not None
    assert [n["body"] for n in now["notes"]] == [
        "going to the DC",
        "cable was loose",
        "reseated; link up",
    ]
    assert all(n["author"] == "user:olga" for n in now["notes"])
    page = olga.get(f"/tasks/{tid}").text
    assert "reseated; link up" in page and f'action="/tasks/{tid}/done"' not in page
    again = olga.post(f"/tasks/{tid}/dismiss", {"note": "too late"})
    assert again.status_code == 409 and "from done to dismissed" in again.text
    audited = [
        e["action"]
        for e in api.get("/api/v1/audit", params={"object_type": "task"}).json()["items"]
        if e["actor"] == "user:olga"
    ]
    assert audited == ["task.done", "task.note_added", "task.acknowledged"]


def test_dismissing_needs_a_reason_and_records_it(api: Api, person: Any) -> None:
    task = _open(api)
    olga: Person = person("olga")
    olga.get(f"/tasks/{task['id']}")
    r = olga.post(f"/tasks/{task['id']}/dismiss", {"note": "port unused"})
    assert r.status_code == 303
    now = _task(api, task["id"])
    assert now["state"] == "dismissed" and [n["body"] for n in now["notes"]] == ["port unused"]


def test_a_viewer_sees_no_buttons_and_a_post_anyway_is_refused(api: Api, person: Any) -> None:
    task = _open(api)
    tid = task["id"]
    vera: Person = person("vera")
    page = vera.get(f"/tasks/{tid}")
    assert page.status_code == 200 and "Reseat port 7" in page.text
    assert f"/tasks/{tid}/" not in page.text
    assert "<button" not in page.text.split("</header>")[1]
    for url, form in (
        (f"/tasks/{tid}/acknowledge", {}),
        (f"/tasks/{tid}/done", {"note": "x"}),
        (f"/tasks/{tid}/dismiss", {"note": "x"}),
        (f"/tasks/{tid}/notes", {"body": "x"}),
    ):
        refused = vera.post(url, form)
        assert refused.status_code == 403, url
    now = _task(api, tid)
    assert now["state"] == "open" and now["notes"] == []


def test_a_post_without_the_csrf_token_is_refused(api: Api, person: Any) -> None:
    task = _open(api)
    olga: Person = person("olga")
    olga.get(f"/tasks/{task['id']}")
    assert olga.post(f"/tasks/{task['id']}/done", {}, csrf=False).status_code == 403
    assert _task(api, task["id"])["state"] == "open"


def test_a_note_with_markup_is_shown_as_text(api: Api, person: Any) -> None:
    task = _open(api)
    olga: Person = person("olga")
    olga.get(f"/tasks/{task['id']}")
    note = '<script>alert("x")</script><a href="javascript:boom()">y</a>'
    assert olga.post(f"/tasks/{task['id']}/notes", {"body": note}).status_code == 303
    page = olga.get(f"/tasks/{task['id']}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
    assert 'href="javascript:' not in page


def test_recommendations_list_and_detail(api: Api, person: Any) -> None:
    task = _open(api)
    upload = api.post(
        "/api/v1/recommendations/reseat-cable/attachments",
        files={"file": ("rack-map.txt", b"rack 4, unit 12\n", "text/plain")},
    )
    assert upload.status_code == 201, upload.text
    attachment = upload.json()
    vera: Person = person("vera")
    listed = vera.get("/recommendations")
    assert listed.status_code == 200
    assert 'href="/recommendations/reseat-cable"' in listed.text and "team:dc" in listed.text
    page = vera.get("/recommendations/reseat-cable")
    assert page.status_code == 200
    assert "<p>Port <strong>{{ params.port }}</strong> on the top-of-rack switch.</p>" in page.text
    assert "switch port" in page.text and "team:dc" in page.text
    link = f"/api/v1/recommendations/reseat-cable/attachments/{attachment['id']}"
    assert link in page.text and "rack-map.txt" in page.text
    download = vera.get(link)
    assert download.status_code == 200 and download.content == b"rack 4, unit 12\n"
    assert "attachment" in download.headers["content-disposition"]
    assert f'href="/tasks/{task["id"]}"' in page.text
    assert vera.get("/recommendations/nope").status_code == 404
