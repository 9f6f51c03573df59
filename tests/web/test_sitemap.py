"""The page list found from the routes (``web.sitemap``), every page of it answering an admin,
and the ``Server-Timing`` header on pages and API replies."""

from __future__ import annotations

import asyncio
import re
from typing import Literal

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send

from sophrosyne.api.timing import ServerTiming
from sophrosyne.web import sitemap
from sophrosyne.web.guard import PageRoute
from tests.api.conftest import People
from tests.api.helpers import Api
from tests.web import seed
from tests.web.conftest import Person

TIMING = re.compile(r"^app;dur=(\d+\.\d{3})$")


def _duration_ms(value: str | None) -> float:
    found = TIMING.match(value or "")
    assert found, f"Server-Timing is {value!r}"
    return float(found.group(1))


def test_server_timing_counts_the_time_spent_in_the_app() -> None:
    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def fast(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    slow_ms = _duration_ms(TestClient(ServerTiming(slow)).get("/").headers.get("server-timing"))
    fast_ms = _duration_ms(TestClient(ServerTiming(fast)).get("/").headers.get("server-timing"))
    assert 50 <= slow_ms < 5000
    assert 0 <= fast_ms < 50


def test_pages_and_api_replies_carry_server_timing(
    app: FastAPI, api: Api, person: type[Person]
) -> None:
    root = person("root")
    for reply in (
        root.get("/runs"),
        root.get("/no-such-page"),
        api.get("/api/v1/runs"),
        api.get("/api/v1/runs/999"),
    ):
        assert _duration_ms(reply.headers.get("server-timing")) >= 0, reply.url
    assert len(api.get("/api/v1/runs").headers.get_list("server-timing")) == 1


def test_the_sitemap_lists_the_get_pages_of_the_web_routers(app: FastAPI) -> None:
    found = {p.path: p for p in sitemap.pages(app)}
    assert {"/", "/alerts", "/alerts/{alert_id}", "/runs/{run_id}", "/actions/{name}"} <= set(found)
    # Logging in and out, POST-only forms, the JSON API and static files are not pages.
    assert "/login" not in found and "/logout" not in found
    assert "/runs/{run_id}/cancel" not in found
    assert not [p for p in found if p.startswith(("/api/", "/static"))]
    assert found["/runs/{run_id}"].params == (sitemap.Param("run_id", "runs"),)
    assert found["/actions/{name}"].url({"name": "a b/c"}) == "/actions/a%20b%2Fc"
    assert not found["/alerts"].download


def test_a_parameter_without_a_value_names_its_page(app: FastAPI, engine: Engine) -> None:
    by_path = {p.path: p for p in sitemap.pages(app)}
    with engine.connect() as conn:
        with pytest.raises(sitemap.Unresolvable, match=r"/alerts/\{alert_id\}.*alerts is empty"):
            sitemap.resolve(conn, by_path["/alerts/{alert_id}"])
        odd = sitemap.SitePage(
            "/widgets/{widget_id}", "w", (sitemap.Param("widget_id", "widgets"),), False
        )
        with pytest.raises(sitemap.Unresolvable, match=r"/widgets/\{widget_id\}.*TABLES"):
            sitemap.resolve(conn, odd)
        given = sitemap.resolve(conn, by_path["/runs/{run_id}"], prefer={"runs.run_id": 7})
        assert given == {"run_id": "7"}


def test_pages_added_later_are_found_and_resolved_by_their_segment(engine: Engine) -> None:
    router = APIRouter(route_class=PageRoute)

    def page_view() -> str:
        return "page"

    router.add_api_route("/escalation-policies/{name}", page_view, methods=["GET"])
    router.add_api_route("/schedules/{name}.ics", page_view, methods=["GET"])
    router.add_api_route("/incidents/{incident_id}/alerts/{alert_id}", page_view)
    router.add_api_route("/schedules/{name}", page_view, methods=["POST"])

    def report_view(name: Literal["overview", "errors"]) -> str:
        return name

    router.add_api_route("/reports/{name}", report_view, methods=["GET"])
    later = FastAPI()
    later.include_router(router)
    found = {p.path: p for p in sitemap.pages(later)}
    assert set(found) == {
        "/escalation-policies/{name}",
        "/schedules/{name}.ics",
        "/incidents/{incident_id}/alerts/{alert_id}",
        "/reports/{name}",
    }
    ics = found["/schedules/{name}.ics"]
    assert ics.download and ics.params == (sitemap.Param("name", "schedules"),)
    assert ics.url({"name": "primary"}) == "/schedules/primary.ics"
    nested = found["/incidents/{incident_id}/alerts/{alert_id}"].params
    assert nested == (
        sitemap.Param("incident_id", "incidents"),
        sitemap.Param("alert_id", "alerts"),
    )
    with engine.connect() as conn:
        # A parameter typed with its values needs no table.
        assert sitemap.resolve(conn, found["/reports/{name}"]) == {"name": "overview"}
    # The table behind the hyphenated segment is found; it is empty here.
    with (
        engine.connect() as conn,
        pytest.raises(sitemap.Unresolvable, match="escalation_policies is empty"),
    ):
        sitemap.resolve(conn, found["/escalation-policies/{name}"])


def test_every_page_answers_an_admin(
    app: FastAPI, api: Api, people: People, person: type[Person], engine: Engine
) -> None:
    seed.catalog(api)
    seed.everything(api)
    root = person("root")
    found = sitemap.pages(app)
    assert len(found) >= 9
    with engine.connect() as conn:
        urls = [(p, p.url(sitemap.resolve(conn, p))) for p in found]
    for page, url in urls:
        reply = root.get(url)
        assert reply.status_code == 200, f"{page.path} as {url}: {reply.status_code}"
        if not page.download:
            assert reply.headers["content-type"].startswith("text/html"), url
        _duration_ms(reply.headers.get("server-timing"))
