"""Typed parameter validation: raw values (from a form, an API call or a rule's templates)
become typed values, or a ``ValidationFailed`` naming every parameter that was wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sophrosyne.domains.actions.schemas import ParameterSpec
from sophrosyne.errors import FieldError, ValidationFailed

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class _Invalid(ValueError):
    pass


def _coerce(spec: ParameterSpec, value: Any) -> str | int | bool:
    if spec.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _Invalid("must be a boolean (true or false)")
    if spec.type == "int":
        if isinstance(value, bool):
            raise _Invalid("must be an integer")
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
            number = int(value.strip())
        else:
            raise _Invalid("must be an integer")
        if spec.min is not None and number < spec.min:
            raise _Invalid(f"must be at least {spec.min}")
        if spec.max is not None and number > spec.max:
            raise _Invalid(f"must be at most {spec.max}")
        return number
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    if len(value) > spec.max_length:
        raise _Invalid(f"is longer than {spec.max_length} characters")
    if "\x00" in value:
        raise _Invalid("must not contain a NUL character")
    if spec.type == "enum":
        assert spec.choices is not None
        if value not in spec.choices:
            raise _Invalid(f"must be one of {spec.choices}")
        return value
    if spec.pattern is not None and re.fullmatch(spec.pattern, value) is None:
        raise _Invalid(f"does not match the pattern {spec.pattern!r}")
    return value


def validate(
    specs: Sequence[ParameterSpec | Mapping[str, Any]],
    raw: Mapping[str, Any],
    *,
    loc: tuple[str | int, ...] = ("params",),
) -> dict[str, str | int | bool]:
    """Validate and coerce ``raw`` against ``specs``; defaults fill what is missing.

    Unknown parameter names are refused, so a typo never silently drops a value.
    """
    # type() is, not isinstance(): pydantic's metaclass makes isinstance slow on the hot path.
    parsed = [s if type(s) is ParameterSpec else ParameterSpec.model_validate(s) for s in specs]
    errors: list[FieldError] = []
    out: dict[str, str | int | bool] = {}
    declared = {s.name for s in parsed}
    for name in raw:
        if name not in declared:
            errors.append(FieldError((*loc, name), "is not a parameter of this action"))
    for spec in parsed:
        value = raw.get(spec.name)
        # An empty value is a missing one, for strings too: "rm -rf /var/cache/{{ p }}" must
        # never run with p = "".
        if value is None or value == "":
            if spec.default is not None:
                value = spec.default
            elif spec.required:
                errors.append(FieldError((*loc, spec.name), "is required"))
                continue
            else:
                continue
        try:
            out[spec.name] = _coerce(spec, value)
        except _Invalid as exc:
            errors.append(FieldError((*loc, spec.name), str(exc)))
    if errors:
        raise ValidationFailed(errors)
    return out
