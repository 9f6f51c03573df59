"""API tokens: the secret is shown once and stored only as a hash; verification and scopes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts.schemas import Scope, TokenCreate
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import Conflict, Unauthorized


def _create(session: Session, now: datetime, name: str = "ci", **kw: Any) -> str:
    _, secret = accounts.create(session, TokenCreate(name=name, **kw), now=now)
    session.commit()
    return secret


def test_create_returns_a_prefixed_secret(session: Session, now: datetime) -> None:
    token, secret = accounts.create(session, TokenCreate(name="ci"), now=now)
    session.commit()
    assert secret.startswith("sph_")
    assert len(secret) >= 40
    assert token.scopes == ["write"]
    assert secret.startswith(token.prefix) and len(token.prefix) < len(secret)
    other = _create(session, now, name="other")
    assert other != secret


def test_secret_is_stored_nowhere_but_as_its_hash(session: Session, now: datetime) -> None:
    secret = _create(session, now, scopes=[Scope.READ, Scope.INGEST])
    rows = session.execute(text("SELECT * FROM api_tokens")).mappings().all()
    assert len(rows) == 1
    for column, value in rows[0].items():
        assert secret not in str(value), f"secret found in column {column}"
    assert len(rows[0]["token_hash"]) == 64


def test_names_are_unique(session: Session, now: datetime) -> None:
    _create(session, now)
    with pytest.raises(Conflict):
        accounts.create(session, TokenCreate(name="ci"), now=now)


def test_verify_ok(session: Session, now: datetime) -> None:
    secret = _create(session, now, scopes=[Scope.INGEST, Scope.READ])
    principal = accounts.verify(session, secret, now=now + timedelta(minutes=5))
    assert principal.name == "ci"
    assert principal.scopes == frozenset({"ingest", "read"})
    assert principal.actor == "token:ci"
    session.commit()
    [token] = accounts.list_all(session)
    assert token.last_used_at == now + timedelta(minutes=5)


@pytest.mark.parametrize("wrong", ["", "sph_", "sph_nope", "x" * 60])
def test_wrong_secret_is_unauthorized(session: Session, now: datetime, wrong: str) -> None:
    _create(session, now)
    with pytest.raises(Unauthorized):
        accounts.verify(session, wrong, now=now)


def test_a_near_miss_is_unauthorized(session: Session, now: datetime) -> None:
    secret = _create(session, now)
    with pytest.raises(Unauthorized):
        accounts.verify(session, secret[:-1], now=now)
    with pytest.raises(Unauthorized):
        accounts.verify(session, secret + "x", now=now)


def test_revoked_token_is_unauthorized(session: Session, now: datetime) -> None:
    secret = _create(session, now)
    accounts.verify(session, secret, now=now)
    accounts.revoke(session, "ci", now=now + timedelta(minutes=1))
    session.commit()
    with pytest.raises(Unauthorized, match="revoked"):
        accounts.verify(session, secret, now=now + timedelta(minutes=2))


def test_expired_token_is_unauthorized(session: Session, now: datetime) -> None:
    expires = now + timedelta(days=1)
    secret = _create(session, now, expires_at=expires)
    accounts.verify(session, secret, now=expires - timedelta(seconds=1))
    with pytest.raises(Unauthorized, match="expired"):
        accounts.verify(session, secret, now=expires)
    with pytest.raises(Unauthorized, match="expired"):
        accounts.verify(session, secret, now=expires + timedelta(days=30))


def _principal(*scopes: Scope) -> accounts.Principal:
    return accounts.Principal(name="t", scopes=frozenset(s.value for s in scopes))


def test_write_implies_read() -> None:
    writer = _principal(Scope.WRITE)
    assert writer.allows(Scope.READ)
    assert writer.allows(Scope.WRITE)
    assert not writer.allows(Scope.INGEST)


def test_ingest_does_not_imply_read() -> None:
    ingester = _principal(Scope.INGEST)
    assert ingester.allows(Scope.INGEST)
    assert not ingester.allows(Scope.READ)
    assert not ingester.allows(Scope.WRITE)


def test_read_does_not_imply_write() -> None:
    reader = _principal(Scope.READ)
    assert reader.allows(Scope.READ)
    assert not reader.allows(Scope.WRITE)
    assert not reader.allows(Scope.INGEST)


def test_scopes_round_trip_through_the_database(session: Session, now: datetime) -> None:
    secret = _create(session, now, scopes=[Scope.WRITE])
    principal = accounts.verify(session, secret, now=now)
    assert principal.allows(Scope.READ) and principal.allows(Scope.WRITE)
    assert not principal.allows(Scope.INGEST)


def test_longest_allowed_token_name_can_act(session: Session, now: datetime) -> None:
    """TokenCreate allows names of 120 characters; such a token's actor ("token:NAME") must
    fit wherever an actor is recorded, or every audited call it makes fails."""
    with pytest.raises(ValidationError):
        TokenCreate(name="t" * 121)
    secret = _create(session, now, name="t" * 120)
    principal = accounts.verify(session, secret, now=now)
    audit.record(session, actor=principal.actor, action="rule.created", object_type="rule", now=now)
    session.commit()
    [entry] = audit.search(session)
    assert entry.actor == principal.actor
