"""A small memo for reports that are costly to compute and change only with new data (the
alert-fatigue report reads every firing of the window: ~150 ms at 20,000 firings).

An entry is kept under a key that holds the request's parameters, the minute it was asked in,
and a *watermark* of the data it reads (highest ids, latest acknowledgement): any new event,
decision, run, task or acknowledgement changes the watermark, so a stored answer is reused only
while nothing it depends on has changed, and for the rest of that minute at most. Kept per
process, bounded, and thread-safe (routes run in a thread pool).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from sophrosyne.domains.fatigue import service as fatigue
from sophrosyne.domains.fatigue.schemas import FatigueReport

if TYPE_CHECKING:  # the state holds the memo
    from sophrosyne.api.state import AppState

#: Entries kept; the least recently used goes first.
CAPACITY = 32


class Memo:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The stored answer for ``key``, or ``compute()``'s, stored. Two requests that miss
        at once both compute (no lock is held while computing: a slow report never blocks
        another one)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return value


def fatigue_report(
    state: AppState, span: fatigue.Window, *, limit: int = fatigue.TOP
) -> FatigueReport:
    """The alert-fatigue report for the API and the page, reused within the minute while
    its watermark holds (the window then ends at the first request of that minute)."""
    with state.reading() as session:
        key = ("fatigue", span.name, limit, span.until.replace(second=0, microsecond=0))
        key += fatigue.watermark(session)
        report: FatigueReport = state.memo.get(
            key, lambda: fatigue.report(session, span, limit=limit)
        )
    return report
