from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sophrosyne.api.authcache import TokenCache
from sophrosyne.domains.accounts.service import Principal

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
WHO = Principal(name="am", scopes=frozenset({"ingest"}))


def test_remembers_for_the_ttl_only() -> None:
    cache = TokenCache(5)
    assert cache.get("sph_x", NOW) is None
    cache.put("sph_x", WHO, NOW)
    assert cache.get("sph_x", NOW + timedelta(seconds=5)) == WHO
    assert cache.get("sph_x", NOW + timedelta(seconds=6)) is None
    assert cache.get("sph_other", NOW) is None


def test_token_expiry_wins_over_the_cache() -> None:
    cache = TokenCache(60)
    expiring = Principal(
        name="t", scopes=frozenset({"read"}), expires_at=NOW + timedelta(seconds=1)
    )
    cache.put("sph_t", expiring, NOW)
    assert cache.get("sph_t", NOW) == expiring
    assert cache.get("sph_t", NOW + timedelta(seconds=1)) is None


def test_zero_ttl_and_clear() -> None:
    off = TokenCache(0)
    off.put("sph_x", WHO, NOW)
    assert off.get("sph_x", NOW) is None
    on = TokenCache(5)
    on.put("sph_x", WHO, NOW)
    on.clear()
    assert on.get("sph_x", NOW) is None
