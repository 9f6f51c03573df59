"""A real HTTP server on 127.0.0.1 for tests of the HTTP executor and the ``http`` kind.

Routes: ``/status/<code>``, ``/sleep?seconds=``, ``/big?size=&chunks=&delay=``, ``/cookie``,
and anything else echoes the request as JSON. Every request is kept in ``Server.requests``.
Use the ``server`` fixture: ``from tests.executors.httpd import Server, server``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

COOKIE_SECRET = "sess-CCCC3333-cookie"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    base: str
    requests: list[Seen] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Set by the handler when writing the response failed (the client went away).
    client_gone: threading.Event = field(default_factory=threading.Event)


class Handler(BaseHTTPRequestHandler):
    """Routes: /status/<code>, /echo..., /big?size=&chunks=&delay=, /sleep?seconds=."""

    server_state: Server  # set on a per-server subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        state = self.server_state
        state.requests.append(Seen(self.command, self.path, dict(self.headers.items()), body))
        route = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(route.query).items()}
        try:
            if route.path.startswith("/status/"):
                self._reply(int(route.path.rsplit("/", 1)[1]), b"status body")
            elif route.path == "/sleep":
                state.stopping.wait(float(params["seconds"]))
                self._reply(200, b"late")
            elif route.path == "/big":
                self._big(int(params["size"]), int(params["chunks"]), float(params["delay"]))
            elif route.path == "/cookie":
                self.send_response(200)
                self.send_header("Set-Cookie", f"session={COOKIE_SECRET}; HttpOnly")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            else:  # echo
                echo = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": body.decode("utf-8", "replace"),
                }
                self._reply(200, json.dumps(echo).encode(), "application/json")
        except (BrokenPipeError, ConnectionResetError):
            state.client_gone.set()

    def _reply(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _big(self, size: int, chunks: int, delay: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        piece = size // chunks
        for i in range(chunks):
            n = piece if i < chunks - 1 else size - piece * (chunks - 1)
            self.wfile.write(b"x" * n)
            self.wfile.flush()
            if delay and self.server_state.stopping.wait(delay):
                return

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle  # noqa: N815 - names fixed by http.server


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state = Server(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = type("BoundHandler", (Handler,), {"server_state": state})
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()  # wake sleeping handlers
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
