"""Roles, scopes and the activity map: what each kind of caller may do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sophrosyne.api.deps import Permit, Public
from sophrosyne.domains.accounts import principal, roles
from sophrosyne.domains.accounts.roles import Permission, Role
from sophrosyne.domains.accounts.schemas import Scope


def test_scopes_give_permissions() -> None:
    assert roles.scope_permissions(["read"]) == {Permission.READ, Permission.ACCOUNT}
    assert roles.scope_permissions(["ingest"]) == {Permission.INGEST}
    assert roles.scope_permissions(["write"]) == frozenset(Permission)
    assert roles.scope_permissions([]) == frozenset()


def test_a_token_is_its_scopes_within_its_owners_role() -> None:
    who = principal.for_token(
        "ci", ["write"], expires_at=None, owner_id=1, owner_name="alice", owner_role="viewer"
    )
    assert who.permissions == roles.permissions(Role.VIEWER)
    assert who.actor == "token:ci"
    assert "owned by 'alice' (role viewer)" in who.describe()
    ingest = principal.for_token("am", ["ingest"], expires_at=None, owner_role="operator")
    assert ingest.permissions == {Permission.INGEST}
    service = principal.for_token("svc", ["read", "ingest"], expires_at=None)
    assert service.permissions == {Permission.READ, Permission.ACCOUNT, Permission.INGEST}
    assert service.allows(Scope.READ) and not service.allows(Scope.WRITE)


def test_a_session_is_its_role() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    who = principal.for_user(
        user_id=3,
        username="bob",
        role="operator",
        must_change_password=False,
        session_id=9,
        expires_at=now,
    )
    assert who.actor == "user:bob" and who.kind == "session"
    assert who.permissions == roles.permissions(Role.OPERATOR)
    assert who.describe() == "user 'bob' (role operator)"


def test_the_activity_map_is_consistent() -> None:
    assert set(roles.ACTIVITIES.values()) <= set(Permission)
    assert not roles.PUBLIC_ACTIVITIES & set(roles.ACTIVITIES)
    assert set(roles.ACTIVITIES) >= roles.SESSION_ONLY
    assert set(roles.ACTIVITIES) >= roles.BEFORE_PASSWORD_CHANGE
    # Everyone may look after their own account, whatever the role.
    for role in Role:
        for activity in roles.BEFORE_PASSWORD_CHANGE:
            assert roles.allows(role, roles.ACTIVITIES[activity])


def test_declaring_an_unknown_activity_fails_at_once() -> None:
    assert Permit("runs.create").permission is Permission.RUN
    assert Public("auth.login").activity == "auth.login"
    with pytest.raises(KeyError, match="ACTIVITIES"):
        Permit("runs.launch")
    with pytest.raises(KeyError, match="PUBLIC"):
        Public("runs.read")
