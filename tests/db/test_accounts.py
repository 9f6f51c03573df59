"""API tokens: the secret is shown once and stored only as a hash; verification and scopes;
tokens owned by users (scope ceiling, role, disabled owner, expiry policy)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import service as accounts
from sophrosyne.domains.accounts import users
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.accounts.roles import Permission
from sophrosyne.domains.accounts.schemas import Role, Scope, TokenCreate, UserCreate
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import Conflict, Forbidden, Unauthorized, ValidationFailed


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


def _owner(session: Session, now: datetime, role: str, name: str = "alice") -> User:
    spec = UserCreate.model_validate(
        {"username": name, "password": "correct horse battery", "role": role}
    )
    user = users.create_user(session, spec, now=now)
    session.commit()
    return user


LIFETIME = accounts.Lifetime(default=timedelta(days=90), longest=timedelta(days=365))


def _own(session: Session, now: datetime, owner: User, name: str, *scopes: Scope, **kw: Any) -> str:
    _, secret = accounts.create(
        session,
        TokenCreate(name=name, scopes=list(scopes), **kw),
        now=now,
        owner=owner,
        lifetime=LIFETIME,
    )
    session.commit()
    return secret


def test_a_users_token_cannot_be_wider_than_its_role(session: Session, now: datetime) -> None:
    viewer = _owner(session, now, "viewer")
    operator = _owner(session, now, "operator", name="bob")
    _own(session, now, viewer, "v-read", Scope.READ)
    for scope in (Scope.WRITE, Scope.INGEST):
        with pytest.raises(Forbidden, match="viewer allows tokens with scopes read only"):
            _own(session, now, viewer, f"v-{scope}", Scope.READ, scope)
    session.rollback()
    for scope in Scope:
        _own(session, now, operator, f"o-{scope}", scope)


def test_a_users_token_acts_within_the_role(session: Session, now: datetime) -> None:
    operator = _owner(session, now, "operator")
    secret = _own(session, now, operator, "laptop", Scope.WRITE)
    principal = accounts.verify(session, secret, now=now)
    assert (principal.kind, principal.username, principal.role) == ("token", "alice", "operator")
    assert principal.actor == "token:laptop"
    assert principal.can(Permission.RUN) and principal.can(Permission.INGEST)
    assert not principal.can(Permission.MANAGE_USERS)
    assert not principal.can(Permission.EDIT_CATALOG)
    users.set_role(session, operator, Role.VIEWER, now=now)
    session.commit()
    demoted = accounts.verify(session, secret, now=now)
    assert demoted.can(Permission.READ) and not demoted.can(Permission.RUN)
    service = accounts.verify(session, _create(session, now, name="svc"), now=now)
    assert service.can(Permission.MANAGE_USERS) and service.username is None


def test_a_disabled_owners_tokens_stop(session: Session, now: datetime) -> None:
    _owner(session, now, "admin", name="root")
    alice = _owner(session, now, "operator")
    secret = _own(session, now, alice, "laptop", Scope.READ)
    accounts.verify(session, secret, now=now)
    users.disable(session, alice, now=now)
    session.commit()
    with pytest.raises(Unauthorized, match="'alice' is disabled"):
        accounts.verify(session, secret, now=now)


def test_a_users_token_always_expires(session: Session, now: datetime) -> None:
    alice = _owner(session, now, "operator")
    _own(session, now, alice, "default", Scope.READ)
    _own(session, now, alice, "short", Scope.READ, expires_at=now + timedelta(hours=1))
    _own(session, now, alice, "longest", Scope.READ, expires_at=now + timedelta(days=365))
    with pytest.raises(ValidationFailed) as info:
        _own(session, now, alice, "too-long", Scope.READ, expires_at=now + timedelta(days=366))
    assert info.value.errors[0].loc == ("expires_at",)
    assert "365 days" in info.value.errors[0].msg
    with pytest.raises(ValidationFailed, match="future"):
        _own(session, now, alice, "past", Scope.READ, expires_at=now)
    session.rollback()
    expiry = {t.name: t.expires_at for t in accounts.list_all(session)}
    assert expiry["default"] == now + timedelta(days=90)
    assert expiry["short"] == now + timedelta(hours=1)
    # A service token (no owner) expires only if asked to.
    _create(session, now, name="svc")
    assert accounts.get(session, "svc").expires_at is None


def test_listing_shows_owners(session: Session, now: datetime) -> None:
    alice = _owner(session, now, "operator")
    bob = _owner(session, now, "viewer", name="bob")
    _own(session, now, alice, "a1", Scope.READ)
    _own(session, now, bob, "b1", Scope.READ)
    _create(session, now, name="svc")
    everything = accounts.listing(session)
    assert [(t.name, t.owner) for t in everything] == [
        ("a1", "alice"),
        ("b1", "bob"),
        ("svc", None),
    ]
    assert [t.name for t in accounts.listing(session, owner_id=bob.id)] == ["b1"]
    assert accounts.to_out(session, accounts.get(session, "a1")).owner == "alice"
