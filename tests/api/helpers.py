"""Helpers shared by the API tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
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
