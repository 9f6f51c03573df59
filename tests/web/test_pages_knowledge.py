"""The knowledge pages through HTTP on both backends: the list with review dates and overdue
articles marked, an article rendered from Markdown (sanitised), creating and editing from the
form (checked through the API), errors next to their field, file-managed articles read-only,
and what a person without EDIT_KNOWLEDGE sees and may do."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.knowledge.schemas import ArticleSpec
from tests.api.helpers import Api
from tests.web.conftest import Person


def _article(slug: str, review_by: date, **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": f"Runbook {slug}",
        "body": "# Steps\n\n1. run `df -h`\n2. **free** space\n",
        "owner": "team:db",
        "review_by": review_by.isoformat(),
        **extra,
    }


def _today() -> date:
    return datetime.now(UTC).date()


def _form(**values: str) -> dict[str, str]:
    base = {
        "title": "Disk full",
        "body": "Check `du -sh /var/log`.",
        "owner": "team:db",
        "review_by": (_today() + timedelta(days=90)).isoformat(),
        "actions": "",
        "recommendations": "",
        "matchers": "",
    }
    return {**base, **values}


def test_list_marks_overdue_articles_and_renders_markdown(api: Api, person: Any) -> None:
    late = _article("late-one", _today() - timedelta(days=3))
    fresh = _article("fresh-one", _today() + timedelta(days=30))
    for body in (late, fresh):
        assert api.post("/api/v1/knowledge", json=body).status_code == 201
    vera: Person = person("vera")
    page = vera.get("/knowledge")
    assert page.status_code == 200
    assert "1 overdue for review" in page.text
    rows = dict(re.findall(r'href="/knowledge/([a-z-]+)">(.*?)</tr>', page.text, re.S))
    assert "overdue" in rows["late-one"] and "overdue" not in rows["fresh-one"]
    assert late["review_by"] in rows["late-one"]
    assert "/knowledge/new" not in page.text  # vera may not write

    article = vera.get("/knowledge/fresh-one")
    assert article.status_code == 200
    assert "<h1>Steps</h1>" in article.text and "<code>df -h</code>" in article.text
    assert "<strong>free</strong>" in article.text
    assert "/knowledge/fresh-one/edit" not in article.text
    assert vera.get("/knowledge/nope").status_code == 404


def test_an_editor_creates_and_edits_an_article(api: Api, person: Any) -> None:
    olga: Person = person("olga")  # operators have EDIT_KNOWLEDGE
    listed = olga.get("/knowledge")
    assert 'href="/knowledge/new"' in listed.text
    assert olga.get("/knowledge/new").status_code == 200

    r = olga.post(
        "/knowledge",
        _form(slug="disk-full", actions="restart, cleanup", matchers='alertname="DiskFull"'),
    )
    assert (
        r.status_code == 303 and r.headers["location"] == "/knowledge/disk-full?done=article_saved"
    )
    stored = api.get("/api/v1/knowledge/disk-full").json()
    assert stored["title"] == "Disk full" and stored["actions"] == ["restart", "cleanup"]
    assert stored["matchers"] == ['alertname="DiskFull"'] and stored["managed_by"] == "api"

    page = olga.get("/knowledge/disk-full")
    assert "Article saved." in olga.get(r.headers["location"]).text
    assert 'href="/knowledge/disk-full/edit"' in page.text
    form = olga.get("/knowledge/disk-full/edit")
    assert form.status_code == 200 and "restart, cleanup" in form.text
    r = olga.post("/knowledge/disk-full", _form(title="Disk full on a database", actions="restart"))
    assert r.status_code == 303
    stored = api.get("/api/v1/knowledge/disk-full").json()
    assert stored["title"] == "Disk full on a database" and stored["actions"] == ["restart"]

    taken = olga.post("/knowledge", _form(slug="disk-full"))
    assert taken.status_code == 409 and "already exists" in taken.text
    audited = [
        e["action"]
        for e in api.get("/api/v1/audit", params={"object_type": "article"}).json()["items"]
    ]
    assert audited[:2] == ["article.updated", "article.created"]


def test_errors_are_shown_next_to_their_field_and_nothing_is_stored(api: Api, person: Any) -> None:
    olga: Person = person("olga")
    olga.get("/knowledge/new")
    r = olga.post(
        "/knowledge",
        _form(slug="Bad Slug", review_by="", matchers="alertname=~(", title="<i>kept</i>"),
    )
    assert r.status_code == 422
    for name in ("slug", "review_by", "matchers"):
        assert f'id="{name}-error"' in r.text, name
    assert 'id="title-error"' not in r.text
    assert 'value="&lt;i&gt;kept&lt;/i&gt;"' in r.text  # what was typed is kept, escaped
    unsafe = olga.post(
        "/knowledge", _form(slug="xss", body='<script>alert(1)</script><img src=x onerror="y()">')
    )
    assert unsafe.status_code == 422 and 'id="body-error"' in unsafe.text
    assert "<script>alert(1)" not in unsafe.text
    assert api.get("/api/v1/knowledge").json() == []
    refused = [
        e["action"]
        for e in api.get("/api/v1/audit", params={"object_type": "article"}).json()["items"]
    ]
    assert refused == ["article.refused", "article.refused"]


def test_a_file_managed_article_is_read_only(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        spec = ArticleSpec.model_validate(_article("from-git", _today() + timedelta(days=5)))
        knowledge.create(
            session, spec, now=datetime.now(UTC), managed_by="file", source_file="kb.yaml"
        )
    olga: Person = person("olga")
    page = olga.get("/knowledge/from-git")
    assert page.status_code == 200
    assert "Read-only here" in page.text and "kb.yaml" in page.text
    assert "/knowledge/from-git/edit" not in page.text
    edit = olga.get("/knowledge/from-git/edit")
    assert edit.status_code == 409 and "managed by file" in edit.text
    olga.get("/knowledge")
    r = olga.post("/knowledge/from-git", _form(title="changed"))
    assert r.status_code == 409
    assert api.get("/api/v1/knowledge/from-git").json()["title"] == "Runbook from-git"


def test_a_viewer_may_not_write_and_csrf_is_required(api: Api, person: Any) -> None:
    body = _article("mine", _today() + timedelta(days=5))
    assert api.post("/api/v1/knowledge", json=body).status_code == 201
    vera: Person = person("vera")
    vera.get("/knowledge")
    assert vera.get("/knowledge/new").status_code == 403
    assert vera.get("/knowledge/mine/edit").status_code == 403
    assert vera.post("/knowledge", _form(slug="new-one")).status_code == 403
    assert vera.post("/knowledge/mine", _form(title="vera was here")).status_code == 403
    olga: Person = person("olga")
    olga.get("/knowledge")
    assert olga.post("/knowledge/mine", _form(title="x"), csrf=False).status_code == 403
    assert api.get("/api/v1/knowledge/mine").json()["title"] == "Runbook mine"
    assert [a["slug"] for a in api.get("/api/v1/knowledge").json()] == ["mine"]
