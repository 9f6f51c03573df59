"""Fixtures for the page tests: the API tests' application, people and tokens, on both
backends, and a browser-like client that keeps the session cookie and reads CSRF tokens from
the pages' forms."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import (  # noqa: F401 - fixtures used by the tests here
    People,
    api,
    app,
    client,
    enqueued,
    metrics,
    password_hash,
    people,
    tokens,
)
from tests.api.helpers import Api

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Person:
    """A person's browser on the pages: follows no redirect by itself, so tests see them."""

    def __init__(self, app: FastAPI, session_id: str | None = None, csrf: str = "") -> None:
        self.client = TestClient(app, follow_redirects=False)
        if session_id:
            self.client.cookies.set("sophrosyne_session", session_id)
        self.csrf = csrf

    def get(self, url: str, **kw: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(url, **kw)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: Any = None, *, csrf: bool = True) -> httpx.Response:
        form = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            form.append(("csrf_token", self.csrf))
        response: httpx.Response = self.client.post(
            url,
            content=httpx.QueryParams(form).__str__().encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return response


@pytest.fixture
def person(app: FastAPI, people: People) -> Any:
    """``person("olga")``: a browser logged in as that user (no argon2 on the way)."""

    def make(name: str) -> Person:
        browser = people.browser(name)
        session_id = browser.client.cookies.get("sophrosyne_session")
        return Person(app, session_id, browser.csrf or "")

    return make


def add_action(api: Api, name: str = "restart", **extra: Any) -> None:
    body = {
        "name": name,
        "argv": ["/bin/echo", "restart", "{{ params.service }}"],
        "parameters": [
            {"name": "service", "pattern": "[a-z][a-z0-9-]*"},
            {"name": "count", "type": "int", "min": 1, "max": 5, "default": 1},
            {"name": "force", "type": "bool", "default": False},
            {"name": "mode", "type": "enum", "choices": ["soft", "hard"], "default": "soft"},
        ],
        **extra,
    }
    reply = api.post("/api/v1/actions", json=body)
    assert reply.status_code == 201, reply.text
