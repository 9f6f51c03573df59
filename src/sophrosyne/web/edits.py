"""What the admin pages share: the errors of a submitted form placed by field, times typed in
``datetime-local`` inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic

from sophrosyne.errors import FieldError, ValidationFailed


def by_field(
    exc: ValidationFailed | pydantic.ValidationError, rename: dict[str, str] | None = None
) -> dict[str, str]:
    """``{field: message}`` for the errors of ``exc``: the first part of each location names
    the field (``rename`` maps a model's name to the form's); the first error of a field wins.
    Errors without a location go under ``""``."""
    rename = rename or {}
    problems: list[FieldError]
    if isinstance(exc, ValidationFailed):
        problems = exc.errors
    else:
        problems = [
            FieldError(tuple(e["loc"]), str(e["msg"]).removeprefix("Value error, "))
            for e in exc.errors()
        ]
    out: dict[str, str] = {}
    for problem in problems:
        name = str(problem.loc[0]) if problem.loc else ""
        name = rename.get(name, name)
        if len(problem.loc) > 1 and isinstance(problem.loc[1], int):
            message = f"line {problem.loc[1] + 1}: {problem.msg}"
        else:
            message = problem.msg
        out.setdefault(name, message)
    return out


def local_time(text: str, field: str) -> datetime | None:
    """A ``datetime-local`` value (``2026-12-03T14:30``), taken as UTC; empty is None; a bad
    one is ``ValidationFailed`` naming ``field``."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single(
            (field,), "expected a date and time, e.g. 2026-12-03T14:30"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_input(value: datetime | None) -> str:
    """The value of a ``datetime-local`` input showing ``value`` in UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def checked(values: list[str] | None) -> bool:
    """A checkbox posted after a hidden ``false`` of the same name: ticked sends both, so the
    last value wins (unticked, only the hidden one arrives)."""
    return (values or [""])[-1] == "true"
