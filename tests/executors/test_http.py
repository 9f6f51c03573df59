"""HttpExecutor against a real HTTP server on 127.0.0.1: no mocks, every test sends a request."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import structlog

from sophrosyne.executors.http import (
    HttpExecutor,
    HttpRequest,
    HttpResult,
    build_url,
)
from sophrosyne.logging import configure
from tests.executors.httpd import COOKIE_SECRET, Server, server

__all__ = ["server"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)

MIB = 1024 * 1024
TOKEN = "Bearer s3cr3t-t0ken-AAAA1111"
API_KEY = "k3y-BBBB2222-value"


def req(url: str, method: str = "GET", timeout: float = 10.0, **kwargs: Any) -> HttpRequest:
    return HttpRequest(method=method, url=url, timeout_seconds=timeout, **kwargs)


def body_of(result: HttpResult) -> str:
    """The response body part of the recorded output (after the response's blank line)."""
    response = result.output.split("\n\n", 1)[1]
    return response.split("\n\n", 1)[1]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_worker_threads(within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(t.name == "http-exec" for t in threading.enumerate()):
            return True
        time.sleep(0.02)
    return False


# --- requests and statuses -------------------------------------------------------------


def test_post_json_reaches_server_intact(server: Server) -> None:
    payload = json.dumps({"service": "nginx", "action": "restart", "n": 3}).encode()
    result = HttpExecutor().run(
        req(
            f"{server.base}/api/restart?dry=0",
            "post",
            headers={"Content-Type": "application/json", "X-Request-Id": "run-42"},
            body=payload,
        )
    )
    assert result.status_code == 200
    assert result.succeeded
    assert result.error is None
    assert not result.output_truncated
    assert 0 < result.duration_seconds < 10
    [seen] = server.requests
    assert seen.method == "POST"
    assert seen.path == "/api/restart?dry=0"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["X-Request-Id"] == "run-42"
    assert seen.body == payload
    # The record: request line and headers, then status line, headers and the body.
    assert result.output.startswith(f"POST {server.base}/api/restart?dry=0\n")
    assert "X-Request-Id: run-42" in result.output
    assert f"[request body: {len(payload)} bytes]" in result.output
    assert "HTTP/1.1 200 OK" in result.output
    assert json.loads(body_of(result))["body"] == payload.decode()


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD"])
def test_each_method_is_sent_as_is(server: Server, method: str) -> None:
    result = HttpExecutor().run(req(f"{server.base}/status/204", method))
    assert result.status_code == 204
    assert result.succeeded
    assert [r.method for r in server.requests] == [method]


def test_expected_status_honoured(server: Server) -> None:
    gone = HttpExecutor().run(req(f"{server.base}/status/404", expected_status=frozenset({404})))
    assert gone.status_code == 404
    assert gone.succeeded
    ok_not_expected = HttpExecutor().run(
        req(f"{server.base}/status/200", expected_status=frozenset({404}))
    )
    assert ok_not_expected.status_code == 200
    assert not ok_not_expected.succeeded


def test_server_error_is_recorded_not_raised(server: Server) -> None:
    result = HttpExecutor().run(req(f"{server.base}/status/500"))
    assert result.status_code == 500
    assert not result.succeeded
    assert result.error is None  # the call worked; the status says how it went
    assert "HTTP/1.1 500 Internal Server Error" in result.output
    assert "status body" in result.output


def test_redirect_is_not_followed(server: Server) -> None:
    result = HttpExecutor().run(req(f"{server.base}/status/302"))
    assert result.status_code == 302
    assert not result.succeeded
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "TRACE"}, "method"),
        ({"url": "file:///etc/passwd"}, "scheme"),
        ({"url": "ftp://example.com/x"}, "scheme"),
        ({"url": "http:///nohost"}, "host"),
        ({"headers": {"X-Evil": "a\r\nInjected: 1"}}, "line break"),
        ({"headers": {"Bad Name": "v"}}, "header name"),
        ({"timeout_seconds": 0}, "timeout"),
    ],
)
def test_malformed_request_refused(kwargs: dict[str, Any], match: str) -> None:
    fields: dict[str, Any] = {"method": "GET", "url": "http://127.0.0.1/", "timeout_seconds": 1}
    with pytest.raises(ValueError, match=match):
        HttpRequest(**(fields | kwargs))


def test_request_is_a_snapshot() -> None:
    headers = {"Authorization": "x"}
    request = HttpRequest(
        method="get",
        url="http://h/",
        timeout_seconds=1,
        headers=headers,
        secret_headers=frozenset({"X-Token"}),
    )
    headers["Authorization"] = "changed"
    assert request.method == "GET"
    assert request.headers["Authorization"] == "x"
    assert request.secret_headers == frozenset({"x-token"})


# --- secrets -----------------------------------------------------------------------------


@contextmanager
def json_logs_on_stderr() -> Iterator[None]:
    """Route every log (structlog and stdlib, DEBUG and up) to the current, captured stderr.

    Used inside the test body: pytest swaps the captured stream between setup and call.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_config = structlog.get_config()
    configure(level="DEBUG", fmt="json")
    try:
        yield
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.configure(**saved_config)


def test_secret_headers_never_recorded_or_logged(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {"Authorization": TOKEN, "X-Api-Key": API_KEY, "X-Trace": "visible-value"}
    # /echo sends the request headers back in the body: they must not come back through it.
    with json_logs_on_stderr():
        result = HttpExecutor().run(req(f"{server.base}/echo", "POST", headers=headers, body=b"{}"))
        captured = capsys.readouterr()
    assert result.succeeded
    [seen] = server.requests
    assert seen.headers["Authorization"] == TOKEN  # the server did get them
    assert seen.headers["X-Api-Key"] == API_KEY
    assert "Authorization: [redacted]" in result.output
    assert "X-Api-Key: [redacted]" in result.output
    assert "X-Trace: visible-value" in result.output
    assert "s3cr3t-t0ken-AAAA1111" not in result.output
    assert API_KEY not in result.output
    logs = captured.err + captured.out
    events = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    finished = [e for e in events if e.get("event") == "http.finished"]
    assert finished and finished[0]["host"] == "127.0.0.1" and finished[0]["status"] == 200
    assert "s3cr3t-t0ken-AAAA1111" not in logs
    assert API_KEY not in logs


def test_custom_secret_header_and_set_cookie_redacted(server: Server) -> None:
    result = HttpExecutor().run(
        req(
            f"{server.base}/cookie",
            headers={"X-Vault-Token": "hvs.vault-DDDD4444", "Cookie": f"session={COOKIE_SECRET}"},
            secret_headers=frozenset({"X-VAULT-TOKEN", "cookie"}),
        )
    )
    assert result.succeeded
    assert "X-Vault-Token: [redacted]" in result.output
    assert "Cookie: [redacted]" in result.output
    assert "set-cookie: [redacted]" in result.output.lower()
    assert "vault-DDDD4444" not in result.output
    assert COOKIE_SECRET not in result.output


def test_password_in_url_not_recorded(server: Server) -> None:
    url = server.base.replace("http://", "http://ops:hunter2-pass@") + "/status/200"
    result = HttpExecutor().run(req(url))
    assert result.succeeded
    assert "hunter2-pass" not in result.output
    assert "ops:[redacted]@127.0.0.1" in result.output


# --- output cap, timeout, cancellation, failures -----------------------------------------


def test_body_capped_with_marker(server: Server) -> None:
    result = HttpExecutor().run(
        req(f"{server.base}/big?size={MIB}&chunks=16&delay=0", output_cap_bytes=1000)
    )
    assert result.succeeded
    assert result.output_truncated
    body, marker = body_of(result).rsplit("\n", 1)
    assert body == "x" * 1000
    assert marker == f"[output truncated: kept first 1000 bytes of {MIB}]"


def test_cap_stops_reading_a_slow_body(server: Server) -> None:
    # 1 MiB over ~8 s: reading it all would take 8 s; stopping at the cap must not.
    started = time.monotonic()
    result = HttpExecutor().run(
        req(f"{server.base}/big?size={MIB}&chunks=16&delay=0.5", timeout=30, output_cap_bytes=100)
    )
    assert time.monotonic() - started < 3
    assert result.output_truncated
    assert not result.timed_out
    assert result.succeeded
    assert body_of(result).startswith("x" * 100 + "\n[output truncated")


def test_body_under_cap_kept_whole(server: Server) -> None:
    result = HttpExecutor().run(req(f"{server.base}/big?size=5000&chunks=5&delay=0.01"))
    assert not result.output_truncated
    assert body_of(result) == "x" * 5000


def test_timeout_against_sleeping_server(server: Server) -> None:
    started = time.monotonic()
    result = HttpExecutor().run(req(f"{server.base}/sleep?seconds=5", timeout=0.5))
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert not result.succeeded
    assert result.status_code is None
    assert elapsed < 3
    assert no_worker_threads()


def test_overall_deadline_against_slow_drip(server: Server) -> None:
    # Each chunk arrives well within the timeout, so only the overall deadline can stop it.
    started = time.monotonic()
    result = HttpExecutor().run(
        req(
            f"{server.base}/big?size={MIB}&chunks=64&delay=0.1",
            timeout=1.0,
            output_cap_bytes=2 * MIB,
        )
    )
    assert result.timed_out
    assert time.monotonic() - started < 3
    assert result.status_code == 200  # what we learnt before the deadline is kept
    assert not result.succeeded
    assert 0 < body_of(result).count("x") < MIB
    assert no_worker_threads()


def test_cancel_during_slow_response(server: Server) -> None:
    started = time.monotonic()
    result = HttpExecutor().run(
        req(
            f"{server.base}/sleep?seconds=5",
            timeout=30,
            should_cancel=lambda: time.monotonic() - started > 0.3,
        )
    )
    elapsed = time.monotonic() - started
    assert result.cancelled
    assert not result.timed_out
    assert result.error is None
    assert not result.succeeded
    assert 0.3 <= elapsed < 1.5
    # The blocked read was aborted, not left to run into its own 30 s timeout.
    assert no_worker_threads(within=2.0)


def test_cancel_check_that_raises_is_ignored(server: Server) -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    result = HttpExecutor().run(req(f"{server.base}/sleep?seconds=0.3", should_cancel=broken))
    assert result.succeeded
    assert not result.cancelled


def test_connection_refused_reported_not_raised() -> None:
    result = HttpExecutor().run(req(f"http://127.0.0.1:{unused_port()}/x", timeout=5))
    assert result.error is not None
    assert result.error.startswith("connection failed:")
    assert result.status_code is None
    assert not result.succeeded
    assert not result.timed_out
    assert result.error in result.output


def test_tls_to_plain_server_fails_cleanly(server: Server) -> None:
    result = HttpExecutor().run(req(server.base.replace("http://", "https://") + "/x", timeout=5))
    assert result.error is not None
    assert result.error.startswith("connection failed:")
    assert not result.succeeded


# --- build_url -----------------------------------------------------------------------------

HOSTILE = ["../admin", "..", ".", "a/b", "x?y=1", "a#b", "%2e%2e", "a b", "line\nbreak", "ü&z=1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_build_url_keeps_hostile_path_value_in_one_segment(server: Server, value: str) -> None:
    url = build_url(server.base + "/hosts/{host}/restart", {"host": value}, {})
    result = HttpExecutor().run(req(url))
    assert result.succeeded, result.output
    [seen] = server.requests
    raw = urlsplit(seen.path)
    assert raw.query == ""
    segments = raw.path.split("/")
    assert segments[:2] == ["", "hosts"] and segments[3:] == ["restart"]
    assert unquote(segments[2]) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_build_url_keeps_hostile_query_value_one_parameter(server: Server, value: str) -> None:
    url = build_url(server.base + "/search?fixed=1", {}, {"q": value, "n": "2"})
    result = HttpExecutor().run(req(url))
    assert result.succeeded, result.output
    [seen] = server.requests
    raw = urlsplit(seen.path)
    assert raw.path == "/search"
    assert parse_qs(raw.query, keep_blank_values=True) == {"fixed": ["1"], "q": [value], "n": ["2"]}


def test_build_url_shape() -> None:
    url = build_url(
        "https://api.example.com/v1/{kind}/{id}#frag", {"kind": "svc", "id": "a/b"}, {"x": "1"}
    )
    assert url == "https://api.example.com/v1/svc/a%2Fb?x=1#frag"


@pytest.mark.parametrize(
    ("base", "params", "match"),
    [
        ("http://h/items/{id}", {}, "no value"),
        ("http://h/items/{id}", {"id": ""}, "no value"),
        ("file:///etc/{name}", {"name": "passwd"}, "scheme"),
        ("ftp://h/{name}", {"name": "x"}, "scheme"),
        ("//h/{name}", {"name": "x"}, "scheme"),
        ("http://{host}/x", {"host": "evil.example"}, "only in the path"),
        ("http://h/x?a={v}", {"v": "1"}, "only in the path"),
    ],
)
def test_build_url_refuses(base: str, params: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_url(base, params, {})
