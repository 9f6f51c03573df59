"""Pydantic schemas of rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from sophrosyne import templating
from sophrosyne.domains.actions.schemas import Name
from sophrosyne.domains.guards.schemas import RuleGuards
from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matcher

LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$")]
Mode = Literal["auto", "confirm", "recommend"]
TEMPLATE_ROOTS = frozenset({"labels", "annotations", "alert"})


class TargetSelection(BaseModel):
    """Which targets a rule's run addresses; the parts combine with AND."""

    model_config = ConfigDict(extra="forbid")

    from_label: LabelName | None = Field(
        default=None,
        description="Alert label holding the host (e.g. instance); its host part is matched "
        "against target names and addresses.",
    )
    selector: list[str] = Field(
        default_factory=list, description='Matchers over target labels, e.g. role="db".'
    )
    names: list[str] | None = Field(default=None, description="Targets named outright.")

    @field_validator("selector")
    @classmethod
    def _selector_parses(cls, value: list[str]) -> list[str]:
        for i, text in enumerate(value):
            try:
                parse_matcher(text)
            except MatcherSyntaxError as exc:
                raise ValueError(f"selector[{i}]: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _something(self) -> TargetSelection:
        if self.from_label is None and not self.selector and not self.names:
            raise ValueError("give from_label, selector or names")
        return self


class RuleSpec(BaseModel):
    """A rule as written in YAML or sent to the API: ``action`` names an action to run (modes
    ``auto`` and ``confirm``), ``recommendation`` a recommendation that opens a task for people
    (mode ``recommend``, or beside an action)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = ""
    enabled: bool = True
    matchers: list[str] = Field(default_factory=list)
    on_status: Annotated[list[Literal["firing", "resolved"]], Field(min_length=1)] = Field(
        default_factory=lambda: ["firing"]  # type: ignore[arg-type]
    )
    action: Name | None = None
    parameters: dict[str, str] = Field(
        default_factory=dict, description="Parameter name → template over labels/annotations."
    )
    recommendation: Name | None = Field(
        default=None, description="A recommendation: matching alerts open a task for people."
    )
    recommendation_parameters: dict[str, str] = Field(
        default_factory=dict,
        description="The recommendation's parameters (templates); default: ``parameters``.",
    )
    mode: Mode = "auto"
    cooldown_seconds: int = Field(default=0, ge=0, le=30 * 86400)
    targets: TargetSelection | None = None
    guards: RuleGuards | None = Field(
        default=None,
        description="Rate limit, target cooldown, blast radius and throttle for this rule's runs.",
    )

    @field_validator("guards")
    @classmethod
    def _no_empty_guards(cls, value: RuleGuards | None) -> RuleGuards | None:
        return None if value is not None and value.is_empty() else value

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, value: list[str]) -> list[str]:
        for i, text in enumerate(value):
            try:
                parse_matcher(text)
            except MatcherSyntaxError as exc:
                raise ValueError(f"matchers[{i}]: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _what_it_does(self) -> RuleSpec:
        if self.mode == "recommend":
            if self.recommendation is None:
                raise ValueError("a rule in mode recommend needs a recommendation")
            if self.action is not None:
                raise ValueError(
                    "a rule in mode recommend runs nothing: drop action, or use mode auto or "
                    "confirm with both an action and a recommendation"
                )
        elif self.action is None:
            raise ValueError(f"a rule in mode {self.mode} needs an action")
        return self

    @field_validator("parameters", "recommendation_parameters")
    @classmethod
    def _templates_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for key, source in value.items():
            if not templating.is_template(source):
                continue  # a literal value, passed through verbatim
            try:
                stray = templating.undeclared_names(source) - TEMPLATE_ROOTS
            except templating.TemplateFailed as exc:
                raise ValueError(f"parameters.{key}: {exc}") from exc
            if stray:
                raise ValueError(
                    f"parameters.{key} uses {sorted(stray)}; available: labels, annotations, alert"
                )
        return value


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    enabled: bool
    matchers: list[str]
    on_status: list[str]
    action: str | None
    parameters: dict[str, Any]
    recommendation: str | None = None
    recommendation_parameters: dict[str, Any] = Field(default_factory=dict)
    mode: str
    cooldown_seconds: int
    targets: dict[str, Any] | None
    guards: dict[str, Any] | None
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime
