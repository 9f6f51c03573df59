"""Password hashing (argon2id PHC strings, rehash on new parameters), the policy, roles."""

from __future__ import annotations

import pytest

from sophrosyne.domains.accounts import passwords, roles
from sophrosyne.domains.accounts.roles import Permission, Role
from sophrosyne.domains.accounts.schemas import Scope, UserCreate, UserOut
from sophrosyne.errors import ValidationFailed

GOOD = "correct horse battery staple"
#: Cheap parameters so the tests that hash many times stay fast.
CHEAP = passwords.make_hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


def test_hash_is_an_argon2id_phc_string_with_the_documented_parameters() -> None:
    stored = passwords.hash_password(GOOD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert GOOD not in stored
    assert passwords.hash_password(GOOD) != stored  # a fresh salt each time


def test_verify_ok_and_wrong() -> None:
    stored = passwords.hash_password(GOOD, hasher=CHEAP)
    assert passwords.verify_password(stored, GOOD, hasher=CHEAP) == (True, None)
    assert not passwords.verify_password(stored, GOOD + "x", hasher=CHEAP).ok
    assert not passwords.verify_password(stored, "", hasher=CHEAP).ok
    assert not passwords.verify_password("not a hash", GOOD, hasher=CHEAP).ok
    assert not passwords.verify_password("$2b$12$" + "x" * 53, GOOD, hasher=CHEAP).ok


def test_rehash_when_the_parameters_changed() -> None:
    old = passwords.hash_password(GOOD, hasher=CHEAP)
    result = passwords.verify_password(old, GOOD)  # the default, stronger parameters
    assert result.ok
    assert result.rehash is not None
    assert result.rehash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(result.rehash, GOOD) == (True, None)
    # A wrong password never yields a new hash.
    assert passwords.verify_password(old, "wrong password!!") == (False, None)


def test_dummy_verify_runs_without_error() -> None:
    passwords.dummy_verify(GOOD)
    passwords.dummy_verify("")


@pytest.mark.parametrize(
    ("password", "needle"),
    [
        ("short", "at least 12"),
        ("x" * 11 + "", "at least 12"),
        ("a" * 1025, "at most 1024"),
        (" " * 14, "whitespace"),
        ("Alice-Example", "same as the username"),
        ("zzzzzzzzzzzzzz", "repeated"),
        ("Password1234", "too common"),
        ("123456789012", "too common"),
    ],
)
def test_policy_errors_name_the_password_field(password: str, needle: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        passwords.check_policy(password, username="alice-example")
    [error] = info.value.errors
    assert error.loc == ("password",)
    assert needle in error.msg
    assert str(info.value).startswith("password: ")
    if len(password) >= 4:
        assert password not in str(info.value)


def test_policy_accepts_a_passphrase() -> None:
    passwords.check_policy(GOOD, username="alice")
    passwords.check_policy("x" * 11 + "y")
    passwords.check_policy("é" * 11 + "ü" + "p" * 1012)  # exactly 1024 characters


def test_roles_map_to_permissions_and_scopes() -> None:
    assert roles.permissions(Role.ADMIN) == frozenset(Permission)
    assert roles.permissions("operator") >= {
        Permission.READ,
        Permission.RUN,
        Permission.APPROVE,
        Permission.ACK,
        Permission.EDIT_KNOWLEDGE,
    }
    assert not roles.allows(Role.OPERATOR, Permission.MANAGE_USERS)
    assert not roles.allows(Role.OPERATOR, Permission.EDIT_CATALOG)
    assert not roles.allows(Role.OPERATOR, Permission.MANAGE_SECRETS)
    assert roles.permissions(Role.VIEWER) == {
        Permission.READ,
        Permission.ACCOUNT,
        Permission.OWN_TOKENS,
    }
    assert roles.token_scopes(Role.VIEWER) == {Scope.READ}
    assert roles.token_scopes(Role.OPERATOR) == set(Scope)
    assert roles.token_scopes(Role.ADMIN) == set(Scope)
    with pytest.raises(ValueError, match="root"):
        roles.permissions("root")


def test_user_schemas() -> None:
    spec = UserCreate(username="  Alice.B ", password=GOOD)  # type: ignore[arg-type]
    assert spec.username == "alice.b"
    assert spec.role is Role.VIEWER
    assert GOOD not in repr(spec)
    for bad in ["", "-alice", "a" * 65, "al ice", "alice!", "_x"]:
        with pytest.raises(ValueError, match="username"):
            UserCreate(username=bad, password=GOOD)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="email"):
        UserCreate(username="bob", email="not-an-email", password=GOOD)  # type: ignore[arg-type]
    assert "password_hash" not in UserOut.model_fields
    assert "password" not in UserOut.model_fields
