"""The knowledge base: runbook articles with their review dates (overdue ones marked), one
article rendered from Markdown (sanitised), and the form that creates or edits one, through
the same services as ``/api/v1/knowledge`` with the same audit entries and refusals.

Articles loaded from config files (``managed_by: file``) are shown read-only, with a note
saying where they are kept; a POST to change one anyway is refused by the service (409).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.errors import from_pydantic
from sophrosyne.api.refusals import audited_refusal
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.knowledge.schemas import BODY_MAX, ArticleSpec
from sophrosyne.errors import ReadOnly, ValidationFailed
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Reading = Annotated[Principal, page("knowledge.read")]
Editing = Annotated[Principal, page("knowledge.edit")]
#: The article fields of the form, as the form sends them (lists as text).
_FIELDS = ("slug", "title", "body", "owner", "review_by", "actions", "recommendations", "matchers")


@dataclass
class ArticleForm:
    """What the form shows: the values as typed, and an error per field."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _spec(values: dict[str, str]) -> ArticleSpec:
    """The form as the API's own schema; ``ValidationFailed`` naming each wrong field."""
    data: dict[str, Any] = {
        "slug": values["slug"].strip(),
        "title": values["title"].strip(),
        "body": values["body"],
        "owner": values["owner"].strip(),
        "review_by": values["review_by"].strip() or None,
        "actions": _words(values["actions"]),
        "recommendations": _words(values["recommendations"]),
        "matchers": _lines(values["matchers"]),
    }
    try:
        return ArticleSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc) from None


def _placed(form: ArticleForm, exc: ValidationFailed) -> ArticleForm:
    for e in exc.errors:
        name = str(e.loc[0]) if e.loc else ""
        if name in _FIELDS and name not in form.errors:
            form.errors[name] = e.msg
        elif name not in _FIELDS:
            form.general.append(f"{e.where()}: {e.msg}")
    return form


def _form_page(request: Request, form: ArticleForm, *, slug: str | None, status: int) -> Response:
    return pages_of(request).render(
        request,
        "article_form.html",
        {"form": form, "slug": slug, "body_max": BODY_MAX},
        status_code=status,
    )


@router.get("/knowledge")
def article_list(request: Request, state: State, _principal: Reading) -> Response:
    today = utcnow().date()
    with state.reading() as session:
        items = [knowledge.to_out(a, today=today) for a in knowledge.list_all(session)]
    return pages_of(request).render(
        request,
        "knowledge.html",
        {"items": items, "overdue": sum(1 for a in items if a.overdue)},
    )


@router.get("/knowledge/new")
def new_article(request: Request, _principal: Editing) -> Response:
    values = dict.fromkeys(_FIELDS, "")
    return _form_page(request, ArticleForm(values), slug=None, status=200)


@router.get("/knowledge/{slug}")
def article_detail(request: Request, slug: str, state: State, _principal: Reading) -> Response:
    with state.reading() as session:
        article = knowledge.to_out(knowledge.get_by_slug(session, slug), today=utcnow().date())
    return pages_of(request).render(request, "article.html", {"article": article})


@router.get("/knowledge/{slug}/edit")
def edit_article(request: Request, slug: str, state: State, _principal: Editing) -> Response:
    with state.reading() as session:
        article = knowledge.get_by_slug(session, slug)
        # A file-managed article cannot be changed here: say so before anyone types.
        ReadOnly.unless_owner("article", slug, article.managed_by, "api")
        spec = knowledge.to_spec(article)
    values = {
        "slug": spec.slug,
        "title": spec.title,
        "body": spec.body,
        "owner": spec.owner,
        "review_by": spec.review_by.isoformat(),
        "actions": ", ".join(spec.actions),
        "recommendations": ", ".join(spec.recommendations),
        "matchers": "\n".join(spec.matchers),
    }
    return _form_page(request, ArticleForm(values), slug=slug, status=200)


def _save(
    request: Request, state: State, principal: Principal, values: dict[str, str], slug: str | None
) -> Response:
    form = ArticleForm(values)
    target = slug or values["slug"].strip()
    try:
        with audited_refusal(
            state, principal, action="article.refused", object_type="article", object_id=target
        ):
            spec = _spec(values)
            now = utcnow()
            with state.transaction() as session:
                if slug is None:
                    knowledge.create(session, spec, now=now)
                else:
                    knowledge.update(session, slug, spec, now=now)
                audit.record(
                    session,
                    actor=principal.actor,
                    action="article.created" if slug is None else "article.updated",
                    object_type="article",
                    object_id=spec.slug,
                    detail=spec.model_dump(mode="json"),
                    now=now,
                )
    except ValidationFailed as exc:
        return _form_page(request, _placed(form, exc), slug=slug, status=422)
    return see_other(f"/knowledge/{spec.slug}?done=article_saved")


class ArticleFields(pydantic.BaseModel):
    """The article form as posted (the page guard reads the CSRF token beside it)."""

    slug: str = pydantic.Field("", max_length=4000)
    title: str = pydantic.Field("", max_length=4000)
    body: str = pydantic.Field("", max_length=BODY_MAX)
    owner: str = pydantic.Field("", max_length=4000)
    review_by: str = pydantic.Field("", max_length=4000)
    actions: str = pydantic.Field("", max_length=4000)
    recommendations: str = pydantic.Field("", max_length=4000)
    matchers: str = pydantic.Field("", max_length=4000)


Posted = Annotated[ArticleFields, Form()]


@router.post("/knowledge")
def create_article(
    *, request: Request, state: State, principal: Editing, fields: Posted
) -> Response:
    return _save(request, state, principal, fields.model_dump(), None)


@router.post("/knowledge/{slug}")
def update_article(
    *, request: Request, slug: str, state: State, principal: Editing, fields: Posted
) -> Response:
    """The slug is the page's: an article's slug never changes."""
    return _save(request, state, principal, {**fields.model_dump(), "slug": slug}, slug)
