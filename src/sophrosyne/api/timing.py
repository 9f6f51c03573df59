"""``Server-Timing: app;dur=<ms>`` on every HTTP response: the time from the request reaching
the application to its response headers, so operators (a browser's network panel, a load
balancer's log) and the page benchmark can tell the time spent here from the network's.

For a streamed response (Server-Sent Events) it is the time to the first byte of headers.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"server-timing"


def header_value(seconds: float) -> bytes:
    """``app;dur=12.345`` (milliseconds, as the Server-Timing specification counts)."""
    return f"app;dur={seconds * 1000:.3f}".encode()


class ServerTiming:
    """Pure ASGI middleware: one clock read at the start and one at the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = time.perf_counter() - started
                headers = list(message.get("headers", ()))
                headers.append((HEADER, header_value(took)))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)
