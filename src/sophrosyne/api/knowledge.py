"""Runbook articles, and what Sophrosyne knows about an alert: the articles about it and the
past fixes for alerts like it, ranked by how often they worked.

Articles loaded from config files (``managed_by: file``) are read-only here (409). A body with
a script, an event handler or a ``javascript:`` link is refused (422 at ``body``, audited).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.refusals import audited_refusal
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.alerts import service as alerts
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.fixes import service as fixes
from sophrosyne.domains.fixes.schemas import FixRanking
from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.knowledge.schemas import ArticleOut, ArticleSpec

Reading = Annotated[Principal, permit("knowledge.read")]
Changing = Annotated[Principal, permit("knowledge.edit")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No article of that slug"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Slug taken, or managed by config files (read-only)"}
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid or unsafe input; every wrong field is listed (audited)"}
}

router = APIRouter(prefix="/knowledge", tags=["knowledge"], responses=ERROR_RESPONSES)
alert_router = APIRouter(prefix="/alerts", tags=["knowledge"], responses=ERROR_RESPONSES)


def _audit(
    session: Session, principal: Principal, event: str, slug: str, spec: ArticleSpec
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=event,
        object_type="article",
        object_id=slug,
        detail=spec.model_dump(mode="json"),
        now=utcnow(),
    )


@router.get("", response_model=list[ArticleOut], summary="List runbook articles")
def list_articles(
    _principal: Reading,
    state: State,
    action: str | None = None,
    recommendation: str | None = None,
    owner: str | None = None,
) -> list[ArticleOut]:
    """By slug; filter by a linked action or recommendation, or by owner.
    Needs scope ``read``."""
    today = utcnow().date()
    with state.reading() as session:
        found = knowledge.list_all(
            session, action=action, recommendation=recommendation, owner=owner
        )
        return [knowledge.to_out(a, today=today) for a in found]


@router.get("/overdue", response_model=list[ArticleOut], summary="Articles overdue for review")
def overdue_articles(_principal: Reading, state: State) -> list[ArticleOut]:
    """Articles whose ``review_by`` date (UTC) has passed, the longest overdue first.
    Needs scope ``read``."""
    today = utcnow().date()
    with state.reading() as session:
        return [knowledge.to_out(a, today=today) for a in knowledge.overdue(session, today=today)]


@router.get("/{slug}", response_model=ArticleOut, summary="One article", responses=_NOT_FOUND)
def get_article(slug: str, _principal: Reading, state: State) -> ArticleOut:
    """``body_html`` is the sanitised HTML. Needs scope ``read``."""
    with state.reading() as session:
        return knowledge.to_out(knowledge.get_by_slug(session, slug), today=utcnow().date())


@router.post(
    "",
    response_model=ArticleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an article",
    responses={**_CONFLICT, **_INVALID},
)
def create_article(spec: ArticleSpec, principal: Changing, state: State) -> ArticleOut:
    """Needs scope ``write``."""
    with (
        audited_refusal(
            state, principal, action="article.refused", object_type="article", object_id=spec.slug
        ),
        state.transaction() as session,
    ):
        article = knowledge.create(session, spec, now=utcnow())
        _audit(session, principal, "article.created", spec.slug, spec)
        return knowledge.to_out(article, today=utcnow().date())


@router.put(
    "/{slug}",
    response_model=ArticleOut,
    summary="Replace an article",
    responses={**_NOT_FOUND, **_CONFLICT, **_INVALID},
)
def update_article(slug: str, spec: ArticleSpec, principal: Changing, state: State) -> ArticleOut:
    """The body's ``slug`` must equal the path's. Needs scope ``write``."""
    with (
        audited_refusal(
            state, principal, action="article.refused", object_type="article", object_id=slug
        ),
        state.transaction() as session,
    ):
        article = knowledge.update(session, slug, spec, now=utcnow())
        _audit(session, principal, "article.updated", slug, spec)
        return knowledge.to_out(article, today=utcnow().date())


@router.delete(
    "/{slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an article",
    responses={**_NOT_FOUND, **_CONFLICT},
)
def delete_article(slug: str, principal: Changing, state: State) -> Response:
    """Needs scope ``write``."""
    with state.transaction() as session:
        spec = knowledge.to_spec(knowledge.get_by_slug(session, slug))
        knowledge.delete(session, slug)
        _audit(session, principal, "article.deleted", slug, spec)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@alert_router.get(
    "/{alert_id}/knowledge",
    response_model=list[ArticleOut],
    summary="Runbook articles about an alert",
    responses={404: {"description": "No such alert"}},
)
def alert_articles(alert_id: int, _principal: Reading, state: State) -> list[ArticleOut]:
    """Articles whose matchers all match the alert's labels. Needs scope ``read``."""
    today = utcnow().date()
    with state.reading() as session:
        labels = alerts.get(session, alert_id).labels
        return [knowledge.to_out(a, today=today) for a in knowledge.for_alert(session, labels)]


@alert_router.get(
    "/{alert_id}/fixes",
    response_model=FixRanking,
    summary="Past fixes for alerts like this one, best first",
    responses={404: {"description": "No such alert"}},
)
def alert_fixes(alert_id: int, _principal: Reading, state: State) -> FixRanking:
    """Every action run (succeeded) and task done for an alert with the same signature (the
    alert name and the labels in ``SOPHROSYNE_FIX_SIGNATURE_LABELS``), judged by whether the
    alert resolved within ``SOPHROSYNE_FIX_WINDOW_SECONDS`` after the fix began. Ranked by the
    lower bound of the 95 % Wilson interval of the success rate, so 9 out of 10 ranks above 1
    out of 1. Needs scope ``read``."""
    settings = state.settings
    with state.reading() as session:
        labels = alerts.get(session, alert_id).labels
        return fixes.ranked(
            session,
            labels,
            window=timedelta(seconds=settings.fix_window_seconds),
            now=utcnow(),
            signature_labels=settings.signature_labels,
        )
