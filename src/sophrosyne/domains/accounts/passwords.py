"""Password hashing (argon2id) and the password policy. Pure: no database, no clock.

Hashes are PHC strings (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``), so each stored hash carries
the parameters it was made with and old hashes keep verifying after the parameters change;
:func:`verify_password` then hands back a fresh hash for the caller to store.

Parameters follow the second recommended option of RFC 9106 (section 4), for machines that
cannot spend 2 GiB per login: argon2id, 3 passes over 64 MiB with 4 lanes, a 16-byte random
salt and a 32-byte tag. That is roughly 50-100 ms of one core per hash on a current server:
cheap for a person logging in, ruinous for someone guessing offline.
"""

from __future__ import annotations

import functools
import secrets
from typing import Final, NamedTuple

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from sophrosyne.errors import ValidationFailed

TIME_COST: Final = 3
MEMORY_COST_KIB: Final = 64 * 1024
PARALLELISM: Final = 4
HASH_LEN: Final = 32
SALT_LEN: Final = 16

MIN_LENGTH: Final = 12
#: Long enough for any passphrase, short enough that hashing it is no denial of service.
MAX_LENGTH: Final = 1024

#: Refused whatever their length: the first guesses of any attacker (compared lowercased).
OBVIOUS: Final = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "qwertyuiopasdf",
        "qwertyuiop123",
        "qwerty123456",
        "changeme1234",
        "changemechangeme",
        "letmein12345",
        "administrator",
        "administrator1",
        "adminadminadmin",
        "welcome12345",
        "iloveyou1234",
        "sophrosyne123",
        "sophrosyne1234",
    }
)


class Verification(NamedTuple):
    """The outcome of :func:`verify_password`: whether it matched, and a new hash to store
    when the stored one was made with other parameters (``None`` otherwise)."""

    ok: bool
    rehash: str | None = None


def make_hasher(
    *,
    time_cost: int = TIME_COST,
    memory_cost: int = MEMORY_COST_KIB,
    parallelism: int = PARALLELISM,
) -> PasswordHasher:
    """An argon2id hasher; the defaults are the documented parameters above."""
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=HASH_LEN,
        salt_len=SALT_LEN,
        type=Type.ID,
    )


#: Built once; PasswordHasher is immutable and thread-safe.
DEFAULT_HASHER: Final = make_hasher()


def hash_password(password: str, *, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    """The argon2id PHC string of ``password`` (a fresh random salt each time)."""
    return hasher.hash(password)


def verify_password(
    stored: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER
) -> Verification:
    """Check ``password`` against the PHC string ``stored`` (argon2 compares in constant time).

    A malformed or non-argon2 ``stored`` never matches. When it matches but was hashed with
    other parameters than ``hasher``'s, ``rehash`` holds a new hash to store."""
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return Verification(ok=False)
    if hasher.check_needs_rehash(stored):
        return Verification(ok=True, rehash=hasher.hash(password))
    return Verification(ok=True)


@functools.cache
def _dummy_hash() -> str:
    return DEFAULT_HASHER.hash(secrets.token_urlsafe(24))


def dummy_verify(password: str) -> None:
    """Spend the time one verification takes, and learn nothing: for unknown users, so that
    "no such user" and "wrong password" cannot be told apart by how long they take."""
    verify_password(_dummy_hash(), password)


def policy_problem(password: str, *, username: str | None = None) -> str | None:
    """Why ``password`` is not acceptable, or ``None``. Never repeats the password."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    if not password.strip():
        return "must not be only whitespace"
    lowered = password.lower()
    if username and lowered == username.lower():
        return "must not be the same as the username"
    if len(set(password)) == 1:
        return "must not be one character repeated"
    if lowered in OBVIOUS:
        return "is too common; choose one that is hard to guess"
    return None


def check_policy(password: str, *, username: str | None = None, field: str = "password") -> None:
    """Raise ``ValidationFailed`` naming ``field`` if ``password`` breaks the policy."""
    problem = policy_problem(password, username=username)
    if problem is not None:
        raise ValidationFailed.single((field,), f"the password {problem}")


__all__ = [
    "DEFAULT_HASHER",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "Verification",
    "check_policy",
    "dummy_verify",
    "hash_password",
    "make_hasher",
    "policy_problem",
    "verify_password",
]
