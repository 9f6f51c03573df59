"""Who may see a page: the session cookie, the CSRF token of forms, the permission of the
page's activity, and the HTML replies to refusals and errors.

``page("alerts.read")`` is a ``Permit`` (``api.deps``) that reads the login session only (no
bearer tokens on pages) and, on a POST, wants the session's CSRF token in the form field
``csrf_token`` instead of a header. Without a session the browser is sent to ``/login``; a user
who must change their password, to ``/password``; a missing permission is a 403 page, audited
like the API's refusals. ``PageRoute`` turns the project's errors into pages.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import Response

from sophrosyne.api import access
from sophrosyne.api.deps import Permit, State
from sophrosyne.api.state import AppState
from sophrosyne.domains.accounts import roles
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.schemas import AutomationOut
from sophrosyne.domains.runs.states import IllegalTransition
from sophrosyne.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from sophrosyne.web.render import PAGE_HEADERS, pages_of

CSRF_FIELD = "csrf_token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_CSRF = "the form did not carry this session's CSRF token; reload the page and try again"


class LoginNeeded(Exception):
    """No valid session: send the browser to the login page, then back."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class PasswordChangeNeeded(Exception):
    """The user must change their password before anything else."""


def see_other(url: str) -> RedirectResponse:
    """A redirect after a form POST (303: the browser follows it with GET)."""
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


class PagePermit(Permit):
    """The check of one page's activity, for a person logged in with the session cookie."""

    async def __call__(
        self,
        request: Request,
        state: State,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(access.bearer)],
        cookie: Annotated[str | None, Depends(access.session_cookie)],
    ) -> Principal:
        # Pages are for people: a bearer token is ignored, only the session counts.
        if not cookie:
            raise LoginNeeded()
        try:
            found = await run_in_threadpool(access.session_of, state, cookie)
        except Unauthorized as exc:
            raise LoginNeeded(str(exc)) from None
        principal = found.principal
        request.state.principal = principal
        request.state.csrf = found.csrf_token
        # The kill switch, for the banner on every page: one primary-key read per request.
        request.state.automation = await run_in_threadpool(_automation, state)
        detail: dict[str, object] = {"activity": self.activity, "page": True}
        if request.method not in _SAFE:
            form = await request.form()
            given = form.get(CSRF_FIELD)
            if not access.csrf_matches(given if isinstance(given, str) else None, found.csrf_token):
                raise await run_in_threadpool(
                    access.deny, state, request, principal, _NO_CSRF, detail
                )
        if principal.must_change_password and self.activity not in roles.BEFORE_PASSWORD_CHANGE:
            raise PasswordChangeNeeded()
        refusal = self.refusal(principal)
        if refusal is not None:
            detail["permission"] = self.permission.value
            raise await run_in_threadpool(access.deny, state, request, principal, refusal, detail)
        return principal


def _automation(state: AppState) -> AutomationOut:
    with state.reading() as session:
        return guards.automation(session)


def page(activity: str) -> Any:
    """``Depends`` on the check of ``activity`` for a page: gives the ``Principal``."""
    return Depends(PagePermit(activity))


def _login_url(request: Request) -> str:
    target = request.url.path
    if request.method in _SAFE and request.url.query:
        target += "?" + request.url.query
    return "/login?next=" + quote(target, safe="/")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return pages_of(request).render(
        request, "error.html", {"title": title, "message": message}, status_code=status
    )


class PageRoute(APIRoute):
    """A page: the project's errors become HTML pages or redirects, never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginNeeded:
                response: Response = see_other(_login_url(request))
                if request.cookies.get(access.SESSION_COOKIE):
                    state = request.app.state.sophrosyne
                    access.clear_session_cookie(response, request, state.settings)
                return response
            except PasswordChangeNeeded:
                return see_other("/password")
            except Unauthorized as exc:
                return _error_page(request, 401, "Not logged in", str(exc))
            except Forbidden as exc:
                return _error_page(request, 403, "Not allowed", str(exc))
            except NotFound as exc:
                return _error_page(request, 404, "Not found", str(exc))
            except (Conflict, IllegalTransition) as exc:
                return _error_page(request, 409, "Not possible now", str(exc))
            except ValidationFailed as exc:
                return _error_page(request, 422, "Invalid input", str(exc))
            except RequestValidationError as exc:
                # A path that does not name a page (``/reports/nope``) is not found, not a
                # bad request: only query and form values are the user's input.
                if any(e["loc"][:1] == ("path",) for e in exc.errors()):
                    return _error_page(request, 404, "Not found", request.url.path)
                where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
                return _error_page(request, 400, "Invalid request", f"check: {where}")

        return answer
