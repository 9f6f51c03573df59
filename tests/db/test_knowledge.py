"""Runbook articles on the database: links, matchers, overdue reviews, read-only files."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.knowledge.schemas import ArticleSpec
from sophrosyne.errors import Conflict, ReadOnly, ValidationFailed


def _article(slug: str, review_by: date, **extra: object) -> ArticleSpec:
    return ArticleSpec.model_validate(
        {
            "slug": slug,
            "title": slug.replace("-", " "),
            "body": f"# {slug}\n\nSteps.",
            "owner": "team:sre",
            "review_by": review_by,
            **extra,
        }
    )


@pytest.fixture
def articles(session: Session, now: datetime) -> None:
    knowledge.create(
        session,
        _article(
            "disk-pressure",
            date(2026, 12, 1),
            matchers=['alertname="DiskPressure"', 'role=~"db|cache"'],
            actions=["clear-cache"],
        ),
        now=now,
    )
    knowledge.create(
        session,
        _article("old-disks", date(2026, 10, 1), recommendations=["replace-disk"]),
        now=now,
    )
    knowledge.create(
        session, _article("older", date(2025, 1, 1), matchers=['alertname="Down"']), now=now
    )
    knowledge.create(session, _article("due-today", date(2026, 11, 22)), now=now)
    knowledge.create(session, _article("wildcard", date(2027, 1, 1)), now=now)
    session.commit()


def test_overdue_lists_passed_review_dates_oldest_first(
    session: Session, now: datetime, articles: None
) -> None:
    today = now.date()
    assert [a.slug for a in knowledge.overdue(session, today=today)] == ["older", "old-disks"]
    out = knowledge.to_out(knowledge.get_by_slug(session, "older"), today=today)
    assert out.overdue and "<h1>older</h1>" in out.body_html
    assert not knowledge.to_out(knowledge.get_by_slug(session, "due-today"), today=today).overdue


def test_articles_for_an_alert_and_by_link(session: Session, articles: None) -> None:
    labels = {"alertname": "DiskPressure", "role": "db", "instance": "db1"}
    assert [a.slug for a in knowledge.for_alert(session, labels)] == ["disk-pressure"]
    assert knowledge.for_alert(session, {**labels, "role": "web"}) == []
    assert [a.slug for a in knowledge.for_alert(session, {"alertname": "Down"})] == ["older"]
    assert [a.slug for a in knowledge.list_all(session, action="clear-cache")] == ["disk-pressure"]
    assert [a.slug for a in knowledge.list_all(session, recommendation="replace-disk")] == [
        "old-disks"
    ]


def test_unsafe_body_is_refused_and_files_are_read_only(
    session: Session, now: datetime, articles: None
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        knowledge.update(
            session,
            "older",
            _article("older", date(2027, 1, 1), body="<script>x()</script>"),
            now=now,
        )
    assert caught.value.errors[0].loc == ("body",)
    session.rollback()
    assert knowledge.get_by_slug(session, "older").body == "# older\n\nSteps."
    knowledge.create(session, _article("from-file", date(2027, 1, 1)), now=now, managed_by="file")
    with pytest.raises(ReadOnly):
        knowledge.delete(session, "from-file")
    with pytest.raises(Conflict):
        knowledge.create(session, _article("older", date(2027, 1, 1)), now=now)
