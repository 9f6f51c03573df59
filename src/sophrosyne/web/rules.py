"""The rules: the list (matchers, mode, what they trigger, whether enabled, who manages them)
and one rule, read-only here; creating and editing them is in ``web.catalog``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.rules import service as rules
from sophrosyne.flows import catalog
from sophrosyne.web.guard import PageRoute, page
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Reading = Annotated[Principal, page("rules.read")]


@router.get("/rules")
def rule_list(request: Request, state: State, _principal: Reading) -> Response:
    with state.reading() as session:
        items = [rules.to_out(session, r) for r in rules.list_all(session)]
    return pages_of(request).render(request, "rules.html", {"items": items})


@router.get("/rules/{name}")
def rule_detail(request: Request, name: str, state: State, _principal: Reading) -> Response:
    with state.reading() as session:
        rule = rules.get_by_name(session, name)
        out = rules.to_out(session, rule)
        definition = catalog.definition_text(catalog.rule_spec(session, rule))
    return pages_of(request).render(request, "rule.html", {"rule": out, "definition": definition})
