"""Pydantic schemas of actions: the typed parameter specs and the action definition."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from sophrosyne import templating
from sophrosyne.domains.actions.kinds import (
    AnsibleSection,
    ApprovalPolicy,
    HttpSection,
    Kind,
    Principal,
    ScriptSection,
    needs_targets,
)
from sophrosyne.domains.actions.render import authority_end
from sophrosyne.domains.guards.schemas import RateLimit

#: Names the pages use as paths beside an object's own (``/actions/new``).
RESERVED_NAMES = frozenset({"new"})


def _not_reserved(name: str) -> str:
    if name in RESERVED_NAMES:
        raise ValueError(f"{name!r} is reserved (it is the address of the form that creates one)")
    return name


#: Names of actions and rules: short enough that derived strings ("rule:<name>") fit their
#: columns, and never one of the pages' own words.
Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,119}$"),
    AfterValidator(_not_reserved),
]
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
    """An action as written in YAML or sent to the API. ``kind`` chooses which of the
    kind sections applies (see ``kinds``); the others must be absent."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Kind = "shell"
    description: str = ""
    argv: list[str] = Field(
        default_factory=list, description="shell and ssh: the command, one template per word."
    )
    parameters: list[ParameterSpec] = Field(default_factory=list)
    timeout_seconds: int = Field(default=60, ge=1, le=86400)
    risk: Risk = "low"
    idempotent: bool = False
    sudo: bool = Field(default=False, description="ssh and script on targets: sudo -n.")
    connect_timeout_seconds: int = Field(default=10, ge=1, le=300)
    parallelism: int = Field(default=8, ge=1, le=256, description="Targets at once.")
    target_concurrency: int = Field(
        default=1,
        ge=0,
        le=1,
        description="1: a run takes its targets exclusively and waits, queued, while another "
        "run holds one of them; 0: unlimited, it neither waits for nor blocks other runs.",
    )
    rate_limit: RateLimit | None = Field(
        default=None,
        description="At most this many runs of the action (by rules or by hand) within the "
        "window; further automatic runs are held back.",
    )
    script: ScriptSection | None = None
    http: HttpSection | None = None
    ansible: AnsibleSection | None = None
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    runners: list[Principal] | None = Field(
        default=None,
        description="Who may start a run by hand (role:, user:, token:); default: anyone "
        "allowed to run actions. Admins always may.",
    )

    @model_validator(mode="after")
    def _kind_sections(self) -> ActionSpec:
        if self.kind in ("shell", "ssh") and not self.argv:
            raise ValueError(f"a {self.kind} action needs argv")
        if self.kind not in ("shell", "ssh") and self.argv:
            raise ValueError(f"argv is only for shell and ssh actions, not {self.kind}")
        for section in ("script", "http", "ansible"):
            present = getattr(self, section) is not None
            if present and self.kind != section:
                raise ValueError(f"{section} is only for {section} actions, not {self.kind}")
            if not present and self.kind == section:
                raise ValueError(f"a {section} action needs a {section} section")
        return self

    @model_validator(mode="after")
    def _templates_refer_to_parameters(self) -> ActionSpec:
        names = [p.name for p in self.parameters]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"parameter names repeat: {sorted(dupes)}")
        declared = set(names)
        for where, source in self.templates():
            roots = {"params", "target"} if where.startswith("http") else {"params"}
            _check_template(where, source, declared, roots)
        if self.http is not None:
            # The host comes from the inventory only: an alert must never choose where we
            # send a request (and perhaps a target's token).
            host = self.http.url[: authority_end(self.http.url)]
            if templating.is_template(host):
                try:
                    stray = templating.undeclared_names(host) - {"target"}
                except templating.TemplateFailed as exc:
                    raise ValueError(f"http.url: {exc}") from exc
                if stray:
                    raise ValueError("http.url: the host part may use only target.*, not params")
        return self

    def templates(self) -> list[tuple[str, str]]:
        """Every template of this action with where it is (``argv[0]``, ``http.url``…)."""
        out = [(f"argv[{i}]", a) for i, a in enumerate(self.argv)]
        if self.script is not None:
            out += [(f"script.args[{i}]", a) for i, a in enumerate(self.script.args)]
        if self.http is not None:
            out.append(("http.url", self.http.url))
            out += [(f"http.headers.{k}", v) for k, v in self.http.headers.items()]
            out += [(f"http.query.{k}", v) for k, v in self.http.query.items()]
            if self.http.body is not None:
                out.append(("http.body", self.http.body))
        return out

    def needs_targets(self) -> bool:
        """Whether a run of this action must name at least one target."""
        return needs_targets(self.kind, self.section())

    def section(self) -> dict[str, Any]:
        """The kind-specific and execution settings, as stored in ``actions.spec``."""
        out: dict[str, Any] = {
            "sudo": self.sudo,
            "connect_timeout_seconds": self.connect_timeout_seconds,
            "parallelism": self.parallelism,
            "target_concurrency": self.target_concurrency,
        }
        if self.rate_limit is not None:
            out["rate_limit"] = self.rate_limit.model_dump()
        for name in ("script", "http", "ansible"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.model_dump(exclude_none=True)
        out["approval"] = self.approval.model_dump(exclude_none=True)
        if self.runners is not None:
            out["runners"] = list(self.runners)
        return out


def _check_template(where: str, source: str, declared: set[str], roots: set[str]) -> None:
    if not templating.is_template(source):
        return  # passed through verbatim, so "${#x}" or "{#" are fine
    try:
        used = templating.attribute_references(source, "params")
        stray = templating.undeclared_names(source) - roots
    except templating.TemplateFailed as exc:
        raise ValueError(f"{where}: {exc}") from exc
    if stray:
        allowed = " and ".join(f"{r}.NAME" for r in sorted(roots))
        raise ValueError(f"{where} uses {sorted(stray)}; only {allowed} are available")
    unknown = used - declared
    if unknown:
        raise ValueError(f"{where} uses undeclared parameters {sorted(unknown)}")


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
    spec: dict[str, Any]
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime
