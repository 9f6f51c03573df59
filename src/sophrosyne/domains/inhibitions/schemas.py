"""Pydantic schemas of inhibition rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matchers

LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _check(value: list[str]) -> list[str]:
    try:
        parse_matchers(value)
    except MatcherSyntaxError as exc:
        raise ValueError(str(exc)) from None
    return value


class InhibitRuleSpec(BaseModel):
    """An inhibition rule as written in YAML (``inhibit_rules:``)."""

    model_config = ConfigDict(extra="forbid")

    source_matchers: list[str] = Field(min_length=1, max_length=64)
    target_matchers: list[str] = Field(min_length=1, max_length=64)
    equal: list[LabelName] = Field(default_factory=list, max_length=64)

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return _check(value)


class InhibitRuleOut(InhibitRuleSpec):
    id: int
    position: int
    managed_by: str
    source_file: str | None
