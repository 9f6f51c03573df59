"""Users: creation, login with lockout and no user enumeration, password changes, roles,
the initial admin; the password is stored nowhere but as its argon2id hash."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from sophrosyne.domains.accounts import users
from sophrosyne.domains.accounts.schemas import Role, UserCreate
from sophrosyne.domains.audit import service as audit
from sophrosyne.errors import Conflict, Unauthorized, ValidationFailed

PASSWORD = "Tr0ub4dor&3-horse-staple"
NEW = "an entirely new passphrase"


def _create(session: Session, now: datetime, name: str = "alice", **kw: Any) -> None:
    spec = UserCreate.model_validate({"username": name, "password": PASSWORD, **kw})
    users.create_user(session, spec, now=now)
    session.commit()


def _refused(session: Session, name: str, password: str, now: datetime) -> str:
    with pytest.raises(Unauthorized) as info:
        users.authenticate(session, name, password, now=now)
    session.commit()  # the edge commits the counted failure
    return str(info.value)


def test_create_and_out(session: Session, now: datetime) -> None:
    _create(session, now, display_name="Alice A.", email="alice@example.org", role="operator")
    user = users.get_by_username(session, "ALICE")
    out = users.to_out(user)
    assert (out.username, out.display_name, out.email) == ("alice", "Alice A.", "alice@example.org")
    assert out.role is Role.OPERATOR
    assert not out.must_change_password and not out.disabled and out.failed_logins == 0
    assert out.created_at == out.updated_at == now and out.last_login_at is None
    assert "argon2" not in out.model_dump_json() and PASSWORD not in out.model_dump_json()
    _create(session, now, name="bob")
    assert users.to_out(users.get_by_username(session, "bob")).display_name == "bob"
    assert [u.username for u in users.list_all(session)] == ["alice", "bob"]


def test_usernames_are_unique_case_insensitively(session: Session, now: datetime) -> None:
    _create(session, now)
    with pytest.raises(Conflict, match="alice"):
        _create(session, now, name="Alice")


def test_policy_is_enforced_on_create(session: Session, now: datetime) -> None:
    for bad in ["short", "alice"]:
        spec = UserCreate.model_validate({"username": "alice", "password": bad})
        with pytest.raises(ValidationFailed) as info:
            users.create_user(session, spec, now=now)
        assert info.value.errors[0].loc == ("password",)
    assert users.list_all(session) == []


def test_password_is_stored_only_as_its_argon2id_hash(session: Session, now: datetime) -> None:
    _create(session, now)
    user = users.authenticate(session, "alice", PASSWORD, now=now)
    users.change_password(session, user, PASSWORD, NEW, now=now)
    audit.record(
        session, actor="cli", action="user.created", object_type="user", object_id="a", now=now
    )
    session.commit()
    rows = session.execute(text("SELECT * FROM users")).mappings().all()
    for column, value in rows[0].items():
        assert PASSWORD not in str(value) and NEW not in str(value), column
    assert rows[0]["password_hash"].startswith("$argon2id$")
    for entry in session.execute(text("SELECT * FROM audit_log")).mappings():
        assert PASSWORD not in str(dict(entry)) and NEW not in str(dict(entry))


def test_success_resets_the_counter(session: Session, now: datetime) -> None:
    _create(session, now)
    for i in range(4):
        _refused(session, "alice", f"wrong password {i}", now)
    assert users.get_by_username(session, "alice").failed_logins == 4
    later = now + timedelta(minutes=1)
    user = users.authenticate(session, "Alice", PASSWORD, now=later)
    session.commit()
    assert user.failed_logins == 0 and user.locked_until is None
    assert user.last_login_at == later


def test_five_failures_lock_until_the_lockout_passes(session: Session, now: datetime) -> None:
    _create(session, now)
    for i in range(5):
        _refused(session, "alice", f"wrong password {i}", now)
    user = users.get_by_username(session, "alice")
    assert user.locked_until == now + timedelta(minutes=15)
    # The right password is refused while locked, with the same message, and counts nothing.
    message = _refused(session, "alice", PASSWORD, now + timedelta(minutes=14, seconds=59))
    assert message == users.LOGIN_FAILED
    assert users.get_by_username(session, "alice").failed_logins == 5
    user = users.authenticate(session, "alice", PASSWORD, now=now + timedelta(minutes=15))
    assert user.failed_logins == 0 and user.locked_until is None


def test_custom_limits_and_relock_after_expiry(session: Session, now: datetime) -> None:
    _create(session, now)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            users.authenticate(
                session, "alice", "nope", now=now, max_failures=2, lockout=timedelta(seconds=30)
            )
    assert users.get_by_username(session, "alice").locked_until == now + timedelta(seconds=30)
    later = now + timedelta(minutes=1)
    with pytest.raises(Unauthorized):
        users.authenticate(session, "alice", "nope", now=later, max_failures=2)
    assert users.get_by_username(session, "alice").locked_until == later + users.LOCKOUT


def test_unknown_user_and_wrong_password_look_the_same(session: Session, now: datetime) -> None:
    _create(session, now)
    users.disable(session, users.get_by_username(session, "alice"), now=now)  # no admin: fine
    _create(session, now, name="bob")
    messages = {
        _refused(session, "nobody", PASSWORD, now),
        _refused(session, "bob", "wrong password", now),
        _refused(session, "alice", PASSWORD, now),  # disabled
        _refused(session, "bob", "x" * 5000, now),  # too long to even hash
    }
    assert messages == {users.LOGIN_FAILED}


def test_disabled_user_is_refused_and_unlock_and_enable(session: Session, now: datetime) -> None:
    _create(session, now)
    user = users.get_by_username(session, "alice")
    users.disable(session, user, now=now)
    session.commit()
    _refused(session, "alice", PASSWORD, now)
    users.enable(session, user, now=now)
    for _ in range(5):
        _refused(session, "alice", "wrong password", now)
    users.unlock(session, users.get_by_username(session, "alice"), now=now)
    session.commit()
    assert users.authenticate(session, "alice", PASSWORD, now=now).username == "alice"


def test_change_password(session: Session, now: datetime) -> None:
    _create(session, now, must_change_password=True)
    user = users.get_by_username(session, "alice")
    with pytest.raises(Unauthorized, match="current password"):
        users.change_password(session, user, "wrong password", NEW, now=now)
    with pytest.raises(ValidationFailed) as info:
        users.change_password(session, user, PASSWORD, "short", now=now)
    assert info.value.errors[0].loc == ("password",)
    with pytest.raises(ValidationFailed, match="differ"):
        users.change_password(session, user, PASSWORD, PASSWORD, now=now)
    later = now + timedelta(hours=1)
    users.change_password(session, user, PASSWORD, NEW, now=later)
    session.commit()
    assert not user.must_change_password and user.updated_at == later
    _refused(session, "alice", PASSWORD, later)
    assert users.authenticate(session, "alice", NEW, now=later).username == "alice"


def test_roles_and_the_last_admin(session: Session, now: datetime) -> None:
    _create(session, now, name="root", role="admin")
    _create(session, now, name="bob")
    root, bob = users.get_by_username(session, "root"), users.get_by_username(session, "bob")
    with pytest.raises(Conflict, match="last active admin"):
        users.set_role(session, root, Role.VIEWER, now=now)
    with pytest.raises(Conflict, match="last active admin"):
        users.disable(session, root, now=now)
    users.set_role(session, bob, Role.ADMIN, now=now)
    users.set_role(session, root, Role.OPERATOR, now=now)
    session.commit()
    assert (root.role, bob.role) == ("operator", "admin")


def test_ensure_initial_admin(session: Session, now: datetime) -> None:
    assert not users.ensure_initial_admin(session, init_secret=None, now=now)
    assert not users.ensure_initial_admin(session, init_secret="", now=now)
    with pytest.raises(ValidationFailed, match="password"):
        users.ensure_initial_admin(session, init_secret="short", now=now)
    assert users.ensure_initial_admin(session, init_secret=PASSWORD, now=now)
    session.commit()
    assert not users.ensure_initial_admin(session, init_secret=PASSWORD, now=now)
    assert not users.ensure_initial_admin(session, init_secret="another long secret", now=now)
    [admin] = users.list_all(session)
    assert (admin.username, admin.role, admin.must_change_password) == ("admin", "admin", True)
    user = users.authenticate(session, "admin", PASSWORD, now=now)
    assert user.must_change_password


def test_no_initial_admin_once_any_user_exists(session: Session, now: datetime) -> None:
    _create(session, now, name="viewer1")
    assert not users.ensure_initial_admin(session, init_secret=PASSWORD, now=now)
    assert [u.username for u in users.list_all(session)] == ["viewer1"]


def test_check_then_settle_in_separate_transactions(session: Session, now: datetime) -> None:
    """The login route checks the password reading only and settles it in a write
    transaction; a failure is counted there, and a password changed in between voids the
    check (refused, not counted)."""
    _create(session, now)
    wrong = users.check_password(session, "ALICE", "wrong password")
    assert (wrong.username, wrong.ok) == ("alice", False)
    assert "wrong password" not in repr(wrong)
    session.rollback()
    with pytest.raises(Unauthorized):
        users.settle(session, wrong, now=now)
    session.commit()
    assert users.get_by_username(session, "alice").failed_logins == 1

    right = users.check_password(session, "alice", PASSWORD)
    assert right.ok
    users.change_password(session, users.get_by_username(session, "alice"), PASSWORD, NEW, now=now)
    session.commit()
    with pytest.raises(Unauthorized):
        users.settle(session, right, now=now)
    assert users.get_by_username(session, "alice").failed_logins == 1

    nobody = users.check_password(session, "nobody", PASSWORD)
    assert (nobody.user_id, nobody.ok) == (None, False)
    with pytest.raises(Unauthorized):
        users.settle(session, nobody, now=now)
    user = users.settle(session, users.check_password(session, "alice", NEW), now=now)
    assert user.failed_logins == 0 and user.last_login_at == now


def test_update_profile_reports_what_changed(session: Session, now: datetime) -> None:
    _create(session, now, display_name="Alice")
    user = users.get_by_username(session, "alice")
    later = now + timedelta(minutes=1)
    assert users.update_profile(session, user, display_name="Alice", now=later) == {}
    assert user.updated_at == now
    changed = users.update_profile(
        session, user, display_name="Alice B.", email="a@example.org", now=later
    )
    assert changed == {"display_name": "Alice B.", "email": "a@example.org"}
    assert (user.display_name, user.email, user.updated_at) == ("Alice B.", "a@example.org", later)


def test_change_password_names_the_field_it_is_told(session: Session, now: datetime) -> None:
    _create(session, now)
    user = users.get_by_username(session, "alice")
    for new in ("short", PASSWORD):
        with pytest.raises(ValidationFailed) as info:
            users.change_password(session, user, PASSWORD, new, now=now, field="new_password")
        assert info.value.errors[0].loc == ("new_password",)
