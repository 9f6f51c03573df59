"""Live output of runs: page through it as JSON, or follow it as Server-Sent Events.

Both read ``run_output``, which the worker fills a few times a second while a run is in
progress; chunks are redacted and capped before they are stored. The stream polls the database
from the threadpool (read-only sessions: on SQLite they never take the write lock), so an open
stream costs one short read every ``POLL_SECONDS`` and never blocks the event loop.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import AppState
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.runs import output
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.runs.schemas import RunOutputChunk, RunOutputPage
from sophrosyne.domains.runs.states import TERMINAL, RunState

router = APIRouter(tags=["runs"], responses=ERROR_RESPONSES)

POLL_SECONDS = 0.3
KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
DEFAULT_CHUNKS = 500
MAX_CHUNKS = 1000

_SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: pass events on as they come
}


@dataclass(frozen=True)
class _Snapshot:
    """A run's state and its chunks after some seq, read in one transaction."""

    state: str
    cancel_requested: bool
    exit_code: int | None
    error: str | None
    chunks: list[RunOutputChunk]
    #: There may be more chunks than this read returned.
    more: bool

    @property
    def terminal(self) -> bool:
        return RunState(self.state) in TERMINAL


def _read(app: AppState, run_id: int, after: int, limit: int = MAX_CHUNKS) -> _Snapshot:
    with app.reading() as session:
        # The state first: the worker stores a run's last chunks before it records the result,
        # so once the state read here is terminal, the chunks read next are complete.
        run = runs.get(session, run_id)
        chunks = output.after(session, run_id, seq=after, limit=limit + 1)
        return _Snapshot(
            state=run.state,
            cancel_requested=run.cancel_requested,
            exit_code=run.exit_code,
            error=run.error,
            chunks=[RunOutputChunk.model_validate(c) for c in chunks[:limit]],
            more=len(chunks) > limit,
        )


@router.get(
    "/runs/{run_id}/output",
    response_model=RunOutputPage,
    summary="A run's live output after a given chunk (for polling)",
    responses={404: {"description": "No such run"}},
)
def get_output(
    run_id: int,
    _principal: Annotated[Principal, permit("runs.read")],
    state: State,
    after: Annotated[int, Query(ge=0, description="Return chunks with a greater seq.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_CHUNKS)] = DEFAULT_CHUNKS,
) -> RunOutputPage:
    """Chunks as the worker stored them while the run was in progress, oldest first. Poll
    with `after` set to the last page's `next_after` until `complete` is true. The run's own
    `output` (`GET /runs/{id}`) stays the final record. Needs scope ``read``."""
    snap = _read(state, run_id, after, limit)
    return RunOutputPage(
        run_id=run_id,
        state=snap.state,
        chunks=snap.chunks,
        next_after=snap.chunks[-1].seq if snap.chunks else after,
        complete=snap.terminal and not snap.more,
    )


@router.get(
    "/runs/{run_id}/stream",
    response_class=StreamingResponse,
    summary="Follow a run's live output (Server-Sent Events)",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An event stream"},
        404: {"description": "No such run"},
    },
)
async def stream(
    run_id: int,
    request: Request,
    _principal: Annotated[Principal, permit("runs.read")],
    state: State,
    after: Annotated[int, Query(ge=0, description="Start after this chunk.")] = 0,
    last_event_id: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, description="Resume after this chunk (reconnect)."),
    ] = None,
) -> StreamingResponse:
    """Sends the output stored so far, then new output as the worker stores it, until the
    run ends. Events:

    * `state`: `{"state", "cancel_requested"}`, first, and whenever the state changes;
    * `output`: `{"seq", "text", "at"}`, with `id: <seq>`;
    * `end`: `{"state", "exit_code", "error"}` once the run is finished and all its output
      sent; then the stream closes.

    A client that reconnects with `Last-Event-ID` (EventSource does so by itself) resumes
    after that chunk. Comment lines keep idle connections open. Needs scope ``read``."""
    start = last_event_id if last_event_id is not None else after
    first = await anyio.to_thread.run_sync(_read, state, run_id, start)  # 404 before streaming
    return StreamingResponse(
        _events(state, request, run_id, first, start),
        media_type="text/event-stream",
        headers=_SSE_HEADERS,
    )


def _event(kind: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    # JSON on one line: output may hold "\r" or blank lines, which SSE would split on.
    return f"{head}event: {kind}\ndata: {orjson.dumps(data).decode()}\n\n"


def _state_event(snap: _Snapshot) -> str:
    return _event("state", {"state": snap.state, "cancel_requested": snap.cancel_requested})


async def _events(
    app: AppState, request: Request, run_id: int, snap: _Snapshot, after: int
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    yield _state_event(snap)
    sent_state = (snap.state, snap.cancel_requested)
    last_sent = time.monotonic()
    while True:
        for chunk in snap.chunks:
            after = chunk.seq
            yield _event("output", chunk.model_dump(mode="json"), event_id=chunk.seq)
            last_sent = time.monotonic()
        if not snap.more:
            if (snap.state, snap.cancel_requested) != sent_state:
                sent_state = (snap.state, snap.cancel_requested)
                yield _state_event(snap)
                last_sent = time.monotonic()
            if snap.terminal:
                yield _event(
                    "end", {"state": snap.state, "exit_code": snap.exit_code, "error": snap.error}
                )
                return
            if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            await anyio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
        snap = await anyio.to_thread.run_sync(_read, app, run_id, after)
