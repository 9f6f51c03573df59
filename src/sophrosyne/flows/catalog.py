"""Changing the catalog (actions and the rules that trigger them) the same way from the JSON API
and from the pages: through the services, as objects managed by ``api`` (config-file objects are
read-only: the service refuses with 409), each change recorded in the audit log.

The pages take a definition typed as YAML; ``read_definition`` validates it with the same
pydantic schema as the API and the config files, and names each wrong field with its line.
Each audit entry says ``via`` (``api`` or ``web``). The edge owns the transaction and passes
its session; nothing here commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.models import Action
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.models import Rule
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.errors import FieldError, ValidationFailed
from sophrosyne.flows.configyaml import Problem, model_problems, read_yaml

Spec = TypeVar("Spec", bound=BaseModel)
#: The fields a page asks for in inputs of their own, beside the YAML of the rest.
FORM_FIELDS = ("name", "description")
#: The file name that problems of a typed definition carry.
DEFINITION = "definition"


def _audit(
    session: Session,
    actor: str,
    event: str,
    name: str,
    spec: BaseModel,
    *,
    now: datetime,
    via: str,
) -> None:
    """``event`` is ``<object type>.<verb>``, e.g. ``action.created``; ``via`` is ``api`` or
    ``web``."""
    audit.record(
        session,
        actor=actor,
        action=event,
        object_type=event.partition(".")[0],
        object_id=name,
        detail={**spec.model_dump(mode="json"), "via": via},
        now=now,
    )


# --- actions --------------------------------------------------------------------------------


def create_action(
    session: Session, spec: ActionSpec, *, actor: str, now: datetime, via: str = "api"
) -> Action:
    action = actions.create(session, spec, now=now)
    _audit(session, actor, "action.created", spec.name, spec, now=now, via=via)
    return action


def update_action(
    session: Session, name: str, spec: ActionSpec, *, actor: str, now: datetime, via: str = "api"
) -> Action:
    """Replace the definition; 409 for a file-managed action or a different name."""
    action = actions.update(session, name, spec, now=now)
    _audit(session, actor, "action.updated", name, spec, now=now, via=via)
    return action


def delete_action(
    session: Session, name: str, *, actor: str, now: datetime, via: str = "api"
) -> None:
    """409 while rules use it or when a file manages it. Past runs keep their record."""
    spec = actions.to_spec(actions.get_by_name(session, name))
    actions.delete(session, name)
    _audit(session, actor, "action.deleted", name, spec, now=now, via=via)


# --- rules ----------------------------------------------------------------------------------


def rule_spec(session: Session, rule: Rule) -> RuleSpec:
    """A stored rule's definition, as it would be written."""
    current = rules.to_out(session, rule)
    return RuleSpec.model_validate(current.model_dump(include=set(RuleSpec.model_fields)))


def create_rule(
    session: Session, spec: RuleSpec, *, actor: str, now: datetime, via: str = "api"
) -> Rule:
    rule = rules.create(session, spec, now=now)
    _audit(session, actor, "rule.created", spec.name, spec, now=now, via=via)
    return rule


def update_rule(
    session: Session, name: str, spec: RuleSpec, *, actor: str, now: datetime, via: str = "api"
) -> Rule:
    rule = rules.update(session, name, spec, now=now)
    _audit(session, actor, "rule.updated", name, spec, now=now, via=via)
    return rule


def delete_rule(
    session: Session, name: str, *, actor: str, now: datetime, via: str = "api"
) -> None:
    spec = rule_spec(session, rules.get_by_name(session, name))
    rules.delete(session, name)
    _audit(session, actor, "rule.deleted", name, spec, now=now, via=via)


# --- a definition typed as YAML -------------------------------------------------------------


class DefinitionInvalid(ValidationFailed):
    """A typed definition was refused: ``problems`` carry the line of each; ``errors`` the
    same as field errors (``definition.argv[0]``, or ``name`` for a form field)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__([_field_error(p) for p in problems])


def _field_error(problem: Problem) -> FieldError:
    if problem.loc and problem.loc[0] in FORM_FIELDS:
        return FieldError(problem.loc, problem.message)
    where = f"line {problem.line}: " if problem.line else ""
    return FieldError((DEFINITION, *problem.loc), where + problem.message)


def read_definition(model: type[Spec], fields: dict[str, str], text: str) -> Spec:
    """``model`` from the form's own fields (name, description) and the YAML mapping of the
    rest; ``DefinitionInvalid`` naming every wrong field, with its line in the YAML."""
    problems: list[Problem] = []
    parsed = read_yaml(text, DEFINITION, problems)
    if parsed is None or problems:
        raise DefinitionInvalid(problems)
    data, lines = parsed
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DefinitionInvalid(
            [Problem(DEFINITION, lines.get((), 0), (), "expected a mapping of field: value")]
        )
    for key in FORM_FIELDS:
        if key in data:
            problems.append(
                # Not under (key,): that is the form's field, and this is a line of the YAML.
                Problem(DEFINITION, lines.get((key,), 0), (), f"{key}: set it in its own field")
            )
    if problems:
        raise DefinitionInvalid(problems)
    # A form field's problems are placed by the field itself, not by a line of the YAML:
    # known paths without a line (0) keep their place.
    located = {k: v for k, v in lines.items() if not (k and k[0] in FORM_FIELDS)}
    located.update({(key,): 0 for key in FORM_FIELDS})
    try:
        return model.model_validate({**data, **fields})
    except ValidationError as exc:
        found = model_problems(exc, model, (), DEFINITION, located)
        raise DefinitionInvalid(found) from None


def definition_text(spec: BaseModel) -> str:
    """The YAML a form shows for ``spec``: every field but the form's own, defaults left out."""
    data: dict[str, Any] = spec.model_dump(
        mode="json", exclude=set(FORM_FIELDS), exclude_defaults=True
    )
    kind = getattr(spec, "kind", None)
    if kind is not None:  # always said, though "shell" is the default: it decides the rest
        data = {"kind": kind, **data}
    if not data:
        return ""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
