"""Call an HTTP API: the ``http`` action kind ends up here.

``HttpExecutor`` owns one HTTP exchange: sending an already rendered request, reading the
response up to a byte cap, enforcing the timeout as an overall deadline, honouring
cancellation, and writing a readable record of both sides with secrets redacted.
``build_url`` is the one way typed parameters enter a URL: percent-encoded, never raw.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from sophrosyne.executors.base import never, truncation_marker
from sophrosyne.logging import get_logger

log = get_logger(__name__)

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
DEFAULT_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})
REDACTED = "[redacted]"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Secret values shorter than this are not scrubbed from free text: they would erase
#: innocent words ("Bearer") and a value that short is no secret anyway.
_MIN_SCRUB_CHARS = 8


def _require_http_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"URL scheme {parts.scheme!r} is not http or https")
    if not parts.hostname:
        raise ValueError("URL has no host")


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    """One HTTP call, already rendered and validated; raises ValueError when malformed."""

    method: str
    url: str
    timeout_seconds: float
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    #: Status codes that count as success; None means any 2xx.
    expected_status: frozenset[int] | None = None
    output_cap_bytes: int = 64 * 1024
    #: Header names (any case) whose values never reach the recorded output.
    secret_headers: frozenset[str] = DEFAULT_SECRET_HEADERS
    should_cancel: Callable[[], bool] = field(default=never)
    verify_tls: bool = True
    follow_redirects: bool = False

    def __post_init__(self) -> None:
        method = self.method.upper()
        if method not in METHODS:
            raise ValueError(f"HTTP method must be one of {sorted(METHODS)}")
        _require_http_url(self.url)
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            # Checked here, not left to the HTTP library, whose error would quote the value.
            if any(c in value for c in "\r\n\0"):
                raise ValueError(f"header {name!r} contains a line break or NUL")
        if self.timeout_seconds <= 0 or self.output_cap_bytes < 0:
            raise ValueError("timeout_seconds must be > 0 and output_cap_bytes >= 0")
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        secret = frozenset(name.lower() for name in self.secret_headers)
        object.__setattr__(self, "secret_headers", secret)


@dataclass(frozen=True)
class HttpResult:
    """What happened. ``status_code`` is None when no response status arrived."""

    status_code: int | None
    output: str
    output_truncated: bool
    duration_seconds: float
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None
    expected_status: frozenset[int] | None = None

    @property
    def succeeded(self) -> bool:
        if self.status_code is None or self.timed_out or self.cancelled or self.error:
            return False
        if self.expected_status is None:
            return 200 <= self.status_code < 300
        return self.status_code in self.expected_status


def build_url(base: str, path_params: Mapping[str, str], query: Mapping[str, str]) -> str:
    """Fill ``{name}`` placeholders in the path of ``base`` and append ``query``, all encoded.

    A value can never add a path segment, a query parameter or a fragment.
    """
    parts = urlsplit(base)
    _require_http_url(base)
    if _PLACEHOLDER.search(parts.netloc + parts.query + parts.fragment):
        # A parameter that picks the host would let an alert choose where we send credentials.
        raise ValueError("URL placeholders are allowed only in the path")

    def encode(match: re.Match[str]) -> str:
        name = match.group(1)
        value = path_params.get(name)
        if not value:
            raise ValueError(f"no value for URL placeholder {{{name}}}")
        # safe="" encodes "/" (no new segments); dots are encoded too, so "." or ".." can
        # never form a dot-segment that clients and proxies would collapse.
        return quote(value, safe="").replace(".", "%2E")

    path = _PLACEHOLDER.sub(encode, parts.path)
    added = urlencode(list(query.items()), safe="", quote_via=quote)
    combined = "&".join(q for q in (parts.query, added) if q)
    return urlunsplit((parts.scheme, parts.netloc, path, combined, parts.fragment))


class _Exchange:
    """One request on a worker thread; the caller's thread may abort it at any moment.

    Every write happens under ``lock`` and only while not aborted, so after ``abort()`` the
    caller can read the fields even if the worker thread is still winding down.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.sent_headers: list[tuple[str, str]] = list(request.headers.items())
        self.status: int | None = None
        self.status_line = ""
        self.response_headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.over_cap = False
        self.timed_out = False
        self.error: str | None = None
        self._aborted = False
        self._stream: Any = None  # the connection's network stream, to abort a blocked read

    def perform(self) -> None:
        req = self.request
        try:
            # trust_env=False: no proxy, CA bundle or .netrc credentials picked up from the
            # server's environment; a request sends exactly what the action says.
            # Identity encoding: the cap then bounds what we decode, not just what we read.
            with httpx.Client(
                timeout=httpx.Timeout(req.timeout_seconds),
                verify=req.verify_tls,
                follow_redirects=req.follow_redirects,
                trust_env=False,
                headers={"accept-encoding": "identity"},
            ) as client:
                request = client.build_request(
                    req.method,
                    req.url,
                    headers=req.headers,
                    content=req.body,
                    extensions={"trace": self._trace},
                )
                with self.lock:
                    self.sent_headers = _as_text(request.headers.raw)
                response = client.send(request, stream=True)
                try:
                    self._read(response)
                finally:
                    response.close()  # unread rest of an over-cap body: drop the connection
        except httpx.TimeoutException:
            with self.lock:
                self.timed_out = not self._aborted
        except httpx.TransportError as exc:
            self._fail(f"connection failed: {exc}")
        except Exception as exc:  # noqa: BLE001 - the caller's thread reports it, not us
            self._fail(f"request failed: {type(exc).__name__}: {exc}")
        finally:
            self.done.set()

    def _read(self, response: httpx.Response) -> None:
        cap = self.request.output_cap_bytes
        with self.lock:
            if self._aborted:
                return
            self.status = response.status_code
            reason = response.reason_phrase
            self.status_line = f"{response.http_version} {response.status_code} {reason}".strip()
            self.response_headers = _as_text(response.headers.raw)
        for chunk in response.iter_bytes():
            with self.lock:
                if self._aborted:
                    return
                room = cap - len(self.body)
                self.body += chunk[:room]
                if len(chunk) > room:
                    self.over_cap = True  # stop reading now: the cap bounds time, not just memory
                    return

    def _fail(self, error: str) -> None:
        with self.lock:
            if not self._aborted:  # after an abort the error is only the abort itself
                self.error = _scrub(error, self.request)

    def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            with self.lock:
                self._stream = info.get("return_value")
                aborted = self._aborted
            if aborted:
                _shutdown(self._stream)

    def abort(self) -> None:
        with self.lock:
            self._aborted = True
            stream = self._stream
        _shutdown(stream)


def _as_text(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    # Raw pairs keep the names as written (``X-Api-Key``, not ``x-api-key``): easier to read.
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


def _shutdown(stream: Any) -> None:
    """Wake a read blocked on the stream's socket; closing it from here would not."""
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        # OSError: already closed, or detached by the TLS wrapper (its successor is traced).
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class HttpExecutor:
    """Sends one HttpRequest and reports; never raises for a failing call or server."""

    def __init__(self, *, poll_interval: float = 0.05, abort_grace_seconds: float = 1.0) -> None:
        self.poll_interval = poll_interval
        self.abort_grace_seconds = abort_grace_seconds

    def run(self, request: HttpRequest) -> HttpResult:
        started = time.monotonic()
        # Method and host only: paths, queries and headers may carry rendered secrets.
        blog = log.bind(method=request.method, host=urlsplit(request.url).hostname)
        blog.info("http.started")
        exchange = _Exchange(request)
        # The request runs on a worker so this thread stays free to notice a cancellation or
        # the deadline while the server is silent, however long its own timeouts are.
        threading.Thread(target=exchange.perform, name="http-exec", daemon=True).start()
        timed_out, cancelled = self._supervise(exchange, started + request.timeout_seconds)
        duration = time.monotonic() - started
        with exchange.lock:
            timed_out = timed_out or exchange.timed_out
            error = None if timed_out or cancelled else exchange.error
            output = _scrub(_render(request, exchange, error), request)
            status, truncated = exchange.status, exchange.over_cap
        if timed_out:
            blog.warning("http.timed_out", timeout=request.timeout_seconds)
        elif cancelled:
            blog.info("http.cancelled")
        elif error is not None:
            blog.warning("http.failed", reason=error)
        blog.info("http.finished", status=status, duration=duration, truncated=truncated)
        return HttpResult(
            status,
            output,
            truncated,
            duration,
            timed_out=timed_out,
            cancelled=cancelled,
            error=error,
            expected_status=request.expected_status,
        )

    def _supervise(self, exchange: _Exchange, deadline: float) -> tuple[bool, bool]:
        """Wait for the worker; abort it at the deadline or on cancellation."""
        while not exchange.done.wait(
            max(0.0, min(self.poll_interval, deadline - time.monotonic()))
        ):
            if time.monotonic() >= deadline:
                outcome = True, False
            elif self._cancel_requested(exchange.request):
                outcome = False, True
            else:
                continue
            exchange.abort()
            # Normally the worker ends at once. One still connecting ends at its own connect
            # timeout; it is a daemon and can no longer change the exchange, so do not wait.
            exchange.done.wait(self.abort_grace_seconds)
            return outcome
        return False, False

    @staticmethod
    def _cancel_requested(request: HttpRequest) -> bool:
        try:
            return bool(request.should_cancel())
        except Exception:
            log.warning("http.should_cancel_failed", exc_info=True)
            return False


def _render(request: HttpRequest, ex: _Exchange, error: str | None) -> str:
    """The readable record: request line and headers, then response status, headers, body."""
    lines = [f"{request.method} {_display_url(request.url)}"]
    lines += [_header_line(n, v, request.secret_headers) for n, v in ex.sent_headers]
    if request.body is not None:
        # Size only: a request body is rendered from parameters and may hold secrets.
        lines.append(f"[request body: {len(request.body)} bytes]")
    if ex.status is not None:
        hidden = request.secret_headers | {"set-cookie"}
        lines += ["", ex.status_line]
        lines += [_header_line(n, v, hidden) for n, v in ex.response_headers]
        # Incremental so that a character cut by the cap is dropped, not shown as U+FFFD.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        lines += ["", decoder.decode(bytes(ex.body), final=not ex.over_cap)]
        if ex.over_cap:
            sizes = [v for n, v in ex.response_headers if n.lower() == "content-length"]
            announced = sizes[0] if sizes else "more (rest not read)"
            lines[-1] += truncation_marker(len(ex.body), announced)
    if error is not None:
        lines += ["", f"[{error}]"]
    return "\n".join(lines)


def _header_line(name: str, value: str, hidden: frozenset[str]) -> str:
    return f"{name}: {REDACTED if name.lower() in hidden else value}"


def _display_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))


def _scrub(text: str, request: HttpRequest) -> str:
    """Remove secret header values a server echoed back (in a body, an error message)."""
    secrets: set[str] = set()
    for name, value in request.headers.items():
        if name.lower() in request.secret_headers:
            secrets.add(value)
            secrets.update(re.split(r"[\s;,=]+", value))
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SCRUB_CHARS:
            text = text.replace(secret, REDACTED)
    return text
