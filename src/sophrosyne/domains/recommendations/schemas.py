"""Pydantic schemas of recommendations: the definition (YAML or API) and what the API shows.

``title`` and ``instructions`` are templates over ``params.NAME`` only, like an action's argv;
the parameters are typed (the same ``ParameterSpec`` as actions) and a rule fills them from
the alert's labels. Whether instructions are safe to store is ``markup.dangers``, checked by
``checks.spec_problems`` so that the API can audit a refusal and config files can locate it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from sophrosyne import templating
from sophrosyne.domains.actions.schemas import Name, ParameterSpec
from sophrosyne.markup import Format

#: A user name, or ``team:NAME`` for a team.
Responsible = Annotated[
    str, StringConstraints(pattern=r"^(team:)?[A-Za-z0-9_][A-Za-z0-9_.@-]{0,99}$")
]
TITLE_MAX = 300
INSTRUCTIONS_MAX = 100_000


def template_problem(source: str, declared: set[str]) -> str | None:
    """Why ``source`` is not a template over the declared ``params`` only (None: it is)."""
    if not templating.is_template(source):
        return None
    try:
        used = templating.attribute_references(source, "params")
        stray = templating.undeclared_names(source) - {"params"}
    except templating.TemplateFailed as exc:
        return str(exc)
    if stray:
        return f"uses {sorted(stray)}; only params.NAME is available"
    unknown = used - declared
    if unknown:
        return f"uses undeclared parameters {sorted(unknown)}"
    return None


class RecommendationSpec(BaseModel):
    """A recommendation as written in YAML or sent to the API."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    # Before the templates, so that their validators see which parameters are declared.
    parameters: list[ParameterSpec] = Field(default_factory=list)
    title: Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX)]
    instructions: Annotated[str, StringConstraints(min_length=1, max_length=INSTRUCTIONS_MAX)]
    instructions_format: Format = "markdown"
    responsible: list[Responsible] = Field(
        default_factory=list, description="User names, or team:NAME, who should act."
    )

    @field_validator("parameters")
    @classmethod
    def _names_unique(cls, value: list[ParameterSpec]) -> list[ParameterSpec]:
        names = [p.name for p in value]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"parameter names repeat: {sorted(dupes)}")
        return value

    @field_validator("title", "instructions")
    @classmethod
    def _templates_refer_to_parameters(cls, value: str, info: ValidationInfo) -> str:
        if "parameters" not in info.data:
            return value  # the parameters are wrong themselves, and reported so
        problem = template_problem(value, {p.name for p in info.data["parameters"]})
        if problem is not None:
            raise ValueError(problem)
        return value


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class RecommendationOut(BaseModel):
    id: int
    name: str
    title: str
    instructions: str
    instructions_format: str
    instructions_html: str = Field(
        description="The instructions as sanitised HTML (templates shown as written)."
    )
    responsible: list[str]
    parameters: list[dict[str, Any]]
    attachments: list[AttachmentOut]
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime


class ManualTaskRequest(BaseModel):
    """Open a task from a recommendation by hand."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict)
    alert_id: int | None = Field(default=None, description="The alert the task is about.")
    assignee: str | None = Field(default=None, max_length=200)
