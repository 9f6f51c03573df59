"""Creating, editing and deleting actions and rules from the pages, through the same flow as
``/api/v1/actions`` and ``/api/v1/rules`` (``flows.catalog``): the same schema, refusals and
audit entries. The form has the name and description as inputs and the rest of the definition
as YAML (the kinds have many fields: argv, script, ssh, http, ansible), validated by the
schema the API and the config files use, each error shown next to it with its line.

Objects loaded from config files are read-only: their edit and delete pages answer 409, and the
service refuses a POST anyway. Only people who may edit the catalog reach these pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.refusals import audited_refusal
from sophrosyne.api.state import utcnow
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.errors import Conflict, ReadOnly, ValidationFailed
from sophrosyne.flows import catalog
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

EditingActions = Annotated[Principal, page("actions.edit")]
EditingRules = Annotated[Principal, page("rules.edit")]
#: Longest definition a form takes (a script body fits; more belongs in a file).
DEFINITION_MAX = 200_000


@dataclass(frozen=True)
class Kind:
    """What differs between the action and the rule forms."""

    word: str  # "action" / "rule": audit object type, URLs, headings
    model: type[ActionSpec] | type[RuleSpec]
    current: Callable[[Session, str], tuple[str, str | None, pydantic.BaseModel, list[str]]]
    save: Callable[..., Any]
    delete: Callable[..., None]
    example: str

    @property
    def base(self) -> str:
        return f"/{self.word}s"


def _current_action(
    session: Session, name: str
) -> tuple[str, str | None, pydantic.BaseModel, list[str]]:
    action = actions.get_by_name(session, name)
    used_by = [r.name for r in rules.list_all(session) if r.action_id == action.id]
    return action.managed_by, action.source_file, actions.to_spec(action), used_by


def _current_rule(
    session: Session, name: str
) -> tuple[str, str | None, pydantic.BaseModel, list[str]]:
    rule = rules.get_by_name(session, name)
    return rule.managed_by, rule.source_file, catalog.rule_spec(session, rule), []


def _save_action(session: Session, spec: Any, name: str | None, **kw: Any) -> None:
    if name is None:
        catalog.create_action(session, spec, **kw)
    else:
        catalog.update_action(session, name, spec, **kw)


def _save_rule(session: Session, spec: Any, name: str | None, **kw: Any) -> None:
    if name is None:
        catalog.create_rule(session, spec, **kw)
    else:
        catalog.update_rule(session, name, spec, **kw)


ACTION = Kind(
    "action",
    ActionSpec,
    _current_action,
    _save_action,
    catalog.delete_action,
    'kind: shell\nargv: ["systemctl", "restart", "{{ params.service }}"]\n'
    "parameters:\n  - name: service\n    pattern: '[a-z][a-z0-9-]*'\nrisk: medium\n",
)
RULE = Kind(
    "rule",
    RuleSpec,
    _current_rule,
    _save_rule,
    catalog.delete_rule,
    "matchers: ['alertname=\"ServiceDown\"']\naction: restart\nmode: confirm\n"
    "parameters:\n  service: '{{ labels.service }}'\n",
)


@dataclass
class DefinitionForm:
    """What the form shows: the values as typed, an error per form field, and the problems of
    the YAML definition (each with its line and field path)."""

    name: str = ""
    description: str = ""
    definition: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _placed(form: DefinitionForm, exc: ValidationFailed) -> DefinitionForm:
    for e in exc.errors:
        head = str(e.loc[0]) if e.loc else ""
        if head in catalog.FORM_FIELDS:
            form.errors.setdefault(head, e.msg)
        elif head == catalog.DEFINITION:
            line, _, msg = e.msg.partition(": ") if e.msg.startswith("line ") else ("", "", e.msg)
            where = e.where().removeprefix(catalog.DEFINITION).lstrip(".")
            place = ", ".join(p for p in (line, where) if p)
            form.problems.append(f"{place}: {msg}" if place else msg)
        else:  # a refusal of the service, such as a rule naming no existing action
            form.problems.append(f"{e.where()}: {e.msg}" if e.loc else e.msg)
    return form


def _form_page(
    request: Request, kind: Kind, form: DefinitionForm, *, name: str | None, status: int = 200
) -> Response:
    return pages_of(request).render(
        request,
        "catalog_form.html",
        {
            "kind": kind,
            "form": form,
            "name": name,
            "example": kind.example,
            "definition_max": DEFINITION_MAX,
        },
        status_code=status,
    )


def _edit_page(request: Request, state: State, kind: Kind, name: str) -> Response:
    with state.reading() as session:
        managed_by, _source, spec, _used = kind.current(session, name)
    # A file-managed object cannot be changed here: say so before anyone types.
    ReadOnly.unless_owner(kind.word, name, managed_by, "api")
    form = DefinitionForm(
        name=name,
        description=str(getattr(spec, "description", "")),
        definition=catalog.definition_text(spec),
    )
    return _form_page(request, kind, form, name=name)


class DefinitionFields(pydantic.BaseModel):
    """The form as posted (the page guard reads the CSRF token beside it)."""

    name: str = pydantic.Field("", max_length=200)
    description: str = pydantic.Field("", max_length=4000)
    definition: str = pydantic.Field("", max_length=DEFINITION_MAX)


Posted = Annotated[DefinitionFields, Form()]


def _save(
    request: Request,
    state: State,
    principal: Principal,
    kind: Kind,
    fields: DefinitionFields,
    *,
    name: str | None,
) -> Response:
    target = name or fields.name.strip()
    form = DefinitionForm(target, fields.description, fields.definition)
    if name is not None:
        with state.reading() as session:
            managed_by, _source, _spec, _used = kind.current(session, name)
        ReadOnly.unless_owner(kind.word, name, managed_by, "api")
    try:
        with audited_refusal(
            state,
            principal,
            action=f"{kind.word}.refused",
            object_type=kind.word,
            object_id=target,
        ):
            own = {"name": target, "description": fields.description.strip()}
            spec = catalog.read_definition(kind.model, own, fields.definition)
            with state.transaction() as session:
                kind.save(session, spec, name, actor=principal.actor, now=utcnow(), via="web")
    except ValidationFailed as exc:
        return _form_page(request, kind, _placed(form, exc), name=name, status=422)
    except ReadOnly:
        raise
    except Conflict as exc:  # the name is taken
        form.errors["name"] = str(exc)
        return _form_page(request, kind, form, name=name, status=409)
    return see_other(f"{kind.base}/{target}?done={kind.word}_saved")


def _delete_page(request: Request, state: State, kind: Kind, name: str) -> Response:
    with state.reading() as session:
        managed_by, _source, _spec, used_by = kind.current(session, name)
    ReadOnly.unless_owner(kind.word, name, managed_by, "api")
    return pages_of(request).render(
        request, "catalog_delete.html", {"kind": kind, "name": name, "used_by": used_by}
    )


def _delete(state: State, principal: Principal, kind: Kind, name: str) -> Response:
    """409 (a page saying why) while rules use the action or a file manages it."""
    with state.transaction() as session:
        kind.delete(session, name, actor=principal.actor, now=utcnow(), via="web")
    return see_other(f"{kind.base}?done={kind.word}_deleted")


# --- actions --------------------------------------------------------------------------------


@router.get("/actions/new")
def new_action(request: Request, _principal: EditingActions) -> Response:
    return _form_page(request, ACTION, DefinitionForm(definition=ACTION.example), name=None)


@router.post("/actions")
def create_action(
    *, request: Request, state: State, principal: EditingActions, fields: Posted
) -> Response:
    return _save(request, state, principal, ACTION, fields, name=None)


@router.get("/actions/{name}/edit")
def edit_action(request: Request, name: str, state: State, _principal: EditingActions) -> Response:
    return _edit_page(request, state, ACTION, name)


@router.post("/actions/{name}")
def update_action(
    *, request: Request, name: str, state: State, principal: EditingActions, fields: Posted
) -> Response:
    """The name is the page's: an action is never renamed."""
    return _save(request, state, principal, ACTION, fields, name=name)


@router.get("/actions/{name}/delete")
def confirm_action_delete(
    request: Request, name: str, state: State, _principal: EditingActions
) -> Response:
    return _delete_page(request, state, ACTION, name)


@router.post("/actions/{name}/delete")
def delete_action(name: str, state: State, principal: EditingActions) -> Response:
    return _delete(state, principal, ACTION, name)


# --- rules ----------------------------------------------------------------------------------


@router.get("/rules/new")
def new_rule(request: Request, _principal: EditingRules) -> Response:
    return _form_page(request, RULE, DefinitionForm(definition=RULE.example), name=None)


@router.post("/rules")
def create_rule(
    *, request: Request, state: State, principal: EditingRules, fields: Posted
) -> Response:
    return _save(request, state, principal, RULE, fields, name=None)


@router.get("/rules/{name}/edit")
def edit_rule(request: Request, name: str, state: State, _principal: EditingRules) -> Response:
    return _edit_page(request, state, RULE, name)


@router.post("/rules/{name}")
def update_rule(
    *, request: Request, name: str, state: State, principal: EditingRules, fields: Posted
) -> Response:
    """The name is the page's: a rule is never renamed."""
    return _save(request, state, principal, RULE, fields, name=name)


@router.get("/rules/{name}/delete")
def confirm_rule_delete(
    request: Request, name: str, state: State, _principal: EditingRules
) -> Response:
    return _delete_page(request, state, RULE, name)


@router.post("/rules/{name}/delete")
def delete_rule(name: str, state: State, principal: EditingRules) -> Response:
    return _delete(state, principal, RULE, name)
