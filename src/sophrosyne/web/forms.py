"""The manual run form, generated from an action's typed parameters, and the errors of a
submitted one placed next to the field they are about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from sophrosyne.domains.actions.schemas import ParameterSpec
from sophrosyne.errors import FieldError

#: Form field names: parameters are ``param.NAME`` so they never clash with ours.
PARAM_PREFIX = "param."
TARGETS = "targets"
SELECTOR = "selector"
#: Where errors about the targets are kept (not a possible parameter name).
TARGETS_ERROR = "@targets"


@dataclass(frozen=True)
class Field:
    """One input of the form: how to draw it, its current value and its error."""

    name: str
    input_name: str
    type: str
    label: str
    description: str
    required: bool
    value: str
    error: str = ""
    choices: list[str] = field(default_factory=list)
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @property
    def checked(self) -> bool:
        return self.value.lower() in ("true", "on", "yes", "1")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fields(
    specs: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    errors: Mapping[str, str] | None = None,
) -> list[Field]:
    """The inputs for ``specs``; ``values`` are what to show (defaults when missing)."""
    errors = errors or {}
    out: list[Field] = []
    for raw in specs:
        spec = ParameterSpec.model_validate(raw)
        value = values.get(spec.name, spec.default)
        out.append(
            Field(
                name=spec.name,
                input_name=PARAM_PREFIX + spec.name,
                type=spec.type,
                label=spec.name.replace("_", " "),
                description=spec.description,
                required=spec.required and spec.default is None,
                value=_text(value),
                error=errors.get(spec.name, ""),
                choices=list(spec.choices or []),
                min=spec.min,
                max=spec.max,
                max_length=spec.max_length if spec.type == "string" else None,
                pattern=spec.pattern,
            )
        )
    return out


@dataclass(frozen=True)
class Submitted:
    """A submitted run form: raw parameter values, and the targets asked for."""

    params: dict[str, str]
    targets: list[str] | None
    selector: list[str] | None


def read(form: FormData, specs: Sequence[Mapping[str, Any]]) -> Submitted:
    """Raw values from ``form``; a checkbox sends ``false`` (hidden) then ``true`` if ticked,
    so the last value wins. Empty inputs are left out (the default, or "is required")."""
    params: dict[str, str] = {}
    bools = {str(s.get("name")) for s in specs if s.get("type") == "bool"}
    for key in form:
        if not key.startswith(PARAM_PREFIX):
            continue
        name = key[len(PARAM_PREFIX) :]
        given = [v for v in form.getlist(key) if isinstance(v, str)]
        value = given[-1] if name in bools and given else (given[0] if given else "")
        if value != "":
            params[name] = value
    targets = [v for v in form.getlist(TARGETS) if isinstance(v, str) and v]
    selector_text = form.get(SELECTOR)
    selector = (
        [s.strip() for s in selector_text.split(",") if s.strip()]
        if isinstance(selector_text, str)
        else []
    )
    return Submitted(params, targets or None, selector or None)


def place(errors: Sequence[FieldError]) -> tuple[dict[str, str], list[str]]:
    """Errors per parameter name (``params.NAME``) or ``targets``/``selector``, and those
    that belong to no field."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for e in errors:
        loc = [str(p) for p in e.loc]
        if len(loc) == 2 and loc[0] == "params":
            by_field[loc[1]] = e.msg
        elif loc and loc[0] in (TARGETS, SELECTOR):
            by_field[TARGETS_ERROR] = e.msg
        else:
            general.append(f"{e.where()}: {e.msg}")
    return by_field, general
