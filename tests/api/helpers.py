"""Helpers shared by the API tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

FIXTURES = Path(__file__).parent.parent / "fixtures" / "alertmanager"
AM_URL = "/api/v1/alerts/alertmanager"


@dataclass
class Tokens:
    """Secrets of the tokens every API test starts with."""

    write: str
    read: str
    ingest: str


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class Api:
    """A TestClient that sends a bearer token (the write token unless told otherwise)."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def as_(self, token: str | None) -> Api:
        return Api(self.client, token or "")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response: httpx.Response = self.client.request(method, url, headers=headers, **kwargs)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def post_raw(self, url: str, body: bytes) -> httpx.Response:
        return self.post(url, content=body, headers={"Content-Type": "application/json"})


def restart_action(name: str = "restart", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "argv": ["systemctl", "restart", "{{ params.service }}"],
        "parameters": [{"name": "service", "pattern": "[a-z][a-z0-9-]*"}],
        **extra,
    }


def restart_rule(name: str = "restart-checkout", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "matchers": ['alertname="HighErrorRate"', 'instance="10.0.0.1:8080"'],
        "action": "restart",
        "parameters": {"service": "{{ labels.service }}"},
        **extra,
    }


def loc_of(response: httpx.Response) -> list[list[Any]]:
    """The ``loc`` of every error in a 422 reply."""
    assert response.status_code == 422, response.text
    return [e["loc"] for e in response.json()["detail"]]


SESSION_COOKIE = "sophrosyne_session"
LOGIN_URL = "/api/v1/auth/login"
#: The password of every user the API tests make (see ``people`` in conftest).
PASSWORD = "correct horse battery staple"


class Clock:
    """A clock the tests move by hand (``AppState.clock``)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Browser:
    """A person's client: keeps the session cookie, and sends the CSRF token on changes."""

    def __init__(self, app: FastAPI, base_url: str = "http://testserver") -> None:
        self.client = TestClient(app, base_url=base_url)
        self.csrf: str | None = None

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        r = self.client.post(LOGIN_URL, json={"username": username, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    def adopt(self, session_id: str, csrf: str) -> Browser:
        """Use a session made directly in the database (no password hashing)."""
        self.client.cookies.set(SESSION_COOKIE, session_id)
        self.csrf = csrf
        return self

    def request(self, method: str, url: str, *, csrf: bool = True, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if csrf and self.csrf:
            headers.setdefault("X-CSRF-Token", self.csrf)
        response: httpx.Response = self.client.request(method, url, headers=headers, **kw)
        return response

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)
