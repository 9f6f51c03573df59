"""The report memo: answers stored per key, the least recently used dropped past capacity."""

from __future__ import annotations

from sophrosyne.api.memo import Memo


def test_stored_per_key_and_bounded() -> None:
    memo = Memo(capacity=2)
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert memo.get("a", lambda: compute("a")) == "A"
    assert memo.get("a", lambda: compute("a")) == "A"
    assert memo.get("b", lambda: compute("b")) == "B"
    assert memo.get("a", lambda: compute("a")) == "A"  # a is now the most recent
    assert memo.get("c", lambda: compute("c")) == "C"  # b goes
    assert memo.get("a", lambda: compute("a")) == "A"
    assert memo.get("b", lambda: compute("b")) == "B"  # computed again
    assert calls == ["a", "b", "c", "b"]
    assert (memo.hits, memo.misses) == (3, 4)
