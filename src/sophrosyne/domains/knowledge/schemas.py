"""Pydantic schemas of runbook articles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sophrosyne.domains.actions.schemas import Name
from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matcher

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,119}$")]
BODY_MAX = 200_000


class ArticleSpec(BaseModel):
    """An article as written in YAML (under ``articles:``) or sent to the API."""

    model_config = ConfigDict(extra="forbid")

    slug: Slug
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=BODY_MAX)] = Field(
        description="Markdown; shown as sanitised HTML."
    )
    owner: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="Who keeps it true: a user name or team:NAME."
    )
    review_by: date = Field(description="After this date the article is listed as overdue.")
    actions: list[Name] = Field(default_factory=list, description="Actions it explains.")
    recommendations: list[Name] = Field(
        default_factory=list, description="Recommendations it explains."
    )
    matchers: list[str] = Field(
        default_factory=list,
        description="Alertmanager matchers; alerts matching all of them are shown the article "
        "(none: it is not shown for alerts).",
    )

    @property
    def name(self) -> str:
        """The slug, under the name every config-as-code object has."""
        return self.slug

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, value: list[str]) -> list[str]:
        for i, text in enumerate(value):
            try:
                parse_matcher(text)
            except MatcherSyntaxError as exc:
                raise ValueError(f"matchers[{i}]: {exc}") from exc
        return value


class ArticleOut(BaseModel):
    id: int
    slug: str
    title: str
    body: str
    body_html: str = Field(description="The body as sanitised HTML.")
    owner: str
    review_by: date
    overdue: bool
    actions: list[str]
    recommendations: list[str]
    matchers: list[str]
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime
