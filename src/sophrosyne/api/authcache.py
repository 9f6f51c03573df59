"""A short-lived, in-process memory of verified tokens, so the ingest path does not query the
database (or hop to a thread) to authenticate every request.

An entry lives ``auth_cache_seconds`` (default 5 s; 0 turns the cache off). Revoking a token
through this process forgets every entry at once; a revocation made by another process takes
effect here within that time. A token's own expiry is always honoured.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta

from sophrosyne.domains.accounts.service import Principal

#: Entries kept at most; a flood of distinct bad tokens is never cached, good ones are few.
_MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = timedelta(seconds=ttl_seconds)
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Principal, datetime]] = {}

    @staticmethod
    def _key(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def get(self, secret: str, now: datetime) -> Principal | None:
        if not self._ttl:
            return None
        with self._lock:
            entry = self._entries.get(self._key(secret))
        if entry is None:
            return None
        principal, cached_at = entry
        if now - cached_at > self._ttl or (
            principal.expires_at is not None and principal.expires_at <= now
        ):
            return None
        return principal

    def put(self, secret: str, principal: Principal, now: datetime) -> None:
        if not self._ttl:
            return
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[self._key(secret)] = (principal, now)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
