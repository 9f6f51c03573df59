"""Pydantic schemas of actions: the typed parameter specs and the action definition."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sophrosyne import templating

#: Names are short enough that derived strings ("rule:<name>") fit their columns.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,119}$")]
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,63}$")]
ParamType = Literal["string", "int", "bool", "enum"]
Risk = Literal["low", "medium", "high"]


class ParameterSpec(BaseModel):
    """One typed parameter of a dynamic action."""

    model_config = ConfigDict(extra="forbid")

    name: ParamName
    type: ParamType = "string"
    description: str = ""
    required: bool = True
    default: str | int | bool | None = None
    pattern: str | None = Field(default=None, description="Regex a string must match in full.")
    min: int | None = Field(default=None, description="Lowest int value.")
    max: int | None = Field(default=None, description="Highest int value.")
    max_length: int = Field(default=1024, ge=1, le=65536, description="Longest string value.")
    choices: list[str] | None = Field(default=None, description="Allowed values of an enum.")

    @model_validator(mode="after")
    def _coherent(self) -> ParameterSpec:
        if not self.required and self.default is None:
            raise ValueError("an optional parameter (required: false) needs a default")
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum parameter needs choices")
        if self.type != "enum" and self.choices:
            raise ValueError("choices are only for enum parameters")
        if self.pattern is not None:
            if self.type != "string":
                raise ValueError("pattern is only for string parameters")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        if (self.min is not None or self.max is not None) and self.type != "int":
            raise ValueError("min and max are only for int parameters")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class ActionSpec(BaseModel):
    """An action as written in YAML or sent to the API."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Literal["shell"] = "shell"
    description: str = ""
    argv: Annotated[list[str], Field(min_length=1)]
    parameters: list[ParameterSpec] = Field(default_factory=list)
    timeout_seconds: int = Field(default=60, ge=1, le=86400)
    risk: Risk = "low"
    idempotent: bool = False

    @model_validator(mode="after")
    def _templates_refer_to_parameters(self) -> ActionSpec:
        names = [p.name for p in self.parameters]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"parameter names repeat: {sorted(dupes)}")
        declared = set(names)
        for i, element in enumerate(self.argv):
            if not templating.is_template(element):
                continue  # passed through verbatim, so "${#x}" or "{#" are fine
            try:
                used = templating.attribute_references(element, "params")
                stray = templating.undeclared_names(element) - {"params"}
            except templating.TemplateFailed as exc:
                raise ValueError(f"argv[{i}]: {exc}") from exc
            if stray:
                raise ValueError(f"argv[{i}] uses {sorted(stray)}; only params.NAME is available")
            unknown = used - declared
            if unknown:
                raise ValueError(f"argv[{i}] uses undeclared parameters {sorted(unknown)}")
        return self


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    description: str
    argv: list[str]
    parameters: list[dict[str, Any]]
    timeout_seconds: int
    risk: str
    idempotent: bool
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime
