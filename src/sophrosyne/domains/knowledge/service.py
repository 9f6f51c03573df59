"""Runbook articles: create, update, delete, find (by link or by alert), and list overdue.

Services take a session and never commit. A body with a script, an event handler or a
``javascript:`` link is refused (``ValidationFailed`` at ``body``), like recommendations.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne import markup
from sophrosyne.domains.knowledge.models import Article
from sophrosyne.domains.knowledge.schemas import ArticleOut, ArticleSpec
from sophrosyne.domains.rules.matching import first_mismatch, parse_matchers
from sophrosyne.errors import Conflict, FieldError, NotFound, ReadOnly, ValidationFailed


def spec_problems(spec: ArticleSpec) -> list[FieldError]:
    found = markup.dangers(spec.body)
    return [FieldError(("body",), markup.danger_message(found))] if found else []


def get_by_slug(session: Session, slug: str) -> Article:
    article = session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        raise NotFound("article", slug)
    return article


def list_all(
    session: Session,
    *,
    action: str | None = None,
    recommendation: str | None = None,
    owner: str | None = None,
) -> list[Article]:
    """Every article (by slug), or those linked to ``action`` / ``recommendation`` / of
    ``owner``. Link lists are JSON, filtered here rather than with per-dialect SQL."""
    stmt = select(Article).order_by(Article.slug)
    if owner:
        stmt = stmt.where(Article.owner == owner)
    out = list(session.scalars(stmt))
    if action:
        out = [a for a in out if action in a.actions]
    if recommendation:
        out = [a for a in out if recommendation in a.recommendations]
    return out


def overdue(session: Session, *, today: date) -> list[Article]:
    """Articles whose review date has passed, the longest overdue first."""
    return list(
        session.scalars(
            select(Article)
            .where(Article.review_by < today)
            .order_by(Article.review_by, Article.slug)
        )
    )


def for_alert(session: Session, labels: Mapping[str, str]) -> list[Article]:
    """Articles with matchers that all match ``labels`` (an article without matchers is
    reached through its links instead, never shown for every alert)."""
    return [
        a
        for a in session.scalars(select(Article).order_by(Article.slug))
        if a.matchers and first_mismatch(parse_matchers(a.matchers), labels) is None
    ]


def to_spec(article: Article) -> ArticleSpec:
    return ArticleSpec.model_validate(
        {
            "slug": article.slug,
            "title": article.title,
            "body": article.body,
            "owner": article.owner,
            "review_by": article.review_by,
            "actions": article.actions,
            "recommendations": article.recommendations,
            "matchers": article.matchers,
        }
    )


def to_out(article: Article, *, today: date) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        slug=article.slug,
        title=article.title,
        body=article.body,
        body_html=markup.render(article.body),
        owner=article.owner,
        review_by=article.review_by,
        overdue=article.review_by < today,
        actions=list(article.actions),
        recommendations=list(article.recommendations),
        matchers=list(article.matchers),
        managed_by=article.managed_by,
        source_file=article.source_file,
        created_at=article.created_at,
        updated_at=article.updated_at,
    )


def _assign(article: Article, spec: ArticleSpec, now: datetime) -> None:
    problems = spec_problems(spec)
    if problems:
        raise ValidationFailed(problems)
    article.title = spec.title
    article.body = spec.body
    article.owner = spec.owner
    article.review_by = spec.review_by
    article.actions = list(spec.actions)
    article.recommendations = list(spec.recommendations)
    article.matchers = list(spec.matchers)
    article.updated_at = now


def create(
    session: Session,
    spec: ArticleSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Article:
    if session.scalar(select(Article.id).where(Article.slug == spec.slug)) is not None:
        raise Conflict(f"an article with slug {spec.slug!r} already exists")
    article = Article(
        slug=spec.slug, managed_by=managed_by, source_file=source_file, created_at=now
    )
    _assign(article, spec, now)
    session.add(article)
    session.flush()
    return article


def _writable(article: Article, managed_by: str) -> None:
    ReadOnly.unless_owner("article", article.slug, article.managed_by, managed_by)


def update(
    session: Session,
    slug: str,
    spec: ArticleSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Article:
    article = get_by_slug(session, slug)
    _writable(article, managed_by)
    if spec.slug != slug:
        raise Conflict("an article's slug cannot change; create a new one")
    article.source_file = source_file
    _assign(article, spec, now)
    session.flush()
    return article


def delete(session: Session, slug: str, *, managed_by: str = "api") -> Article:
    article = get_by_slug(session, slug)
    _writable(article, managed_by)
    session.delete(article)
    session.flush()
    return article
