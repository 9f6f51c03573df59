"""Alert fingerprints: the source's own when it gives one, else a stable hash of the labels."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits of SHA-256 over the labels sorted by name; annotations never count."""
    canonical = orjson.dumps(dict(labels), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


def fingerprint(labels: Mapping[str, str], given: str | None) -> str:
    """The source's fingerprint verbatim when it sent one, else ``label_fingerprint``."""
    return given if given else label_fingerprint(labels)
