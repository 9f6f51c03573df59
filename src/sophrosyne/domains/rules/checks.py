"""Static checks of a rule against its action, shared by the API and config-as-code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sophrosyne import templating
from sophrosyne.domains.actions import params as action_params
from sophrosyne.domains.actions.schemas import ParameterSpec
from sophrosyne.errors import FieldError, ValidationFailed


def parameter_problems(
    action_name: str,
    parameters: Mapping[str, str],
    action_parameters: Sequence[ParameterSpec | Mapping[str, Any]],
) -> list[FieldError]:
    """What is wrong with a rule's parameter mapping for its action, if anything: names the
    action does not declare, literals that fail their type, required parameters left out."""
    specs = [
        p if isinstance(p, ParameterSpec) else ParameterSpec.model_validate(p)
        for p in action_parameters
    ]
    declared = {p.name: p for p in specs}
    out: list[FieldError] = []
    for name, source in parameters.items():
        spec = declared.get(name)
        if spec is None:
            out.append(
                FieldError(
                    ("parameters", name),
                    f"is not a parameter of action {action_name!r} "
                    f"(it has {sorted(declared) or 'none'})",
                )
            )
        elif not templating.is_template(source):
            # A literal is checked now: it would fail for every alert at run time.
            try:
                action_params.validate([spec], {name: source}, loc=())
            except ValidationFailed as exc:
                out.append(FieldError(("parameters", name), exc.errors[0].msg))
    for spec in specs:
        if spec.required and spec.default is None and spec.name not in parameters:
            out.append(
                FieldError(
                    ("parameters",),
                    f"does not provide {spec.name!r}, a required parameter of action "
                    f"{action_name!r} with no default",
                )
            )
    return out
