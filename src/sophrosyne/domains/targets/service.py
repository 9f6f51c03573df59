"""The target inventory: create, update, delete, select targets, and keep their secrets.

Secrets are encrypted with the key ring under the context ``target:<id>:<kind>`` (the id never
changes, so a rename-free target keeps its tokens valid, and a token copied to another row or
kind does not decrypt). Nothing here returns a secret except :func:`reveal_secrets`, which
hands out :class:`~sophrosyne.crypto.Secret` wrappers for the worker. Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session, selectinload

from sophrosyne.crypto import Keyring, Secret, make_context
from sophrosyne.domains.actions.service import bump_revision
from sophrosyne.domains.rules.matching import MatcherSyntaxError, first_mismatch, parse_matchers
from sophrosyne.domains.targets.keys import keyring_from
from sophrosyne.domains.targets.models import Target, TargetSecret
from sophrosyne.domains.targets.schemas import SECRET_KINDS, TargetOut, TargetSpec, check_host_key
from sophrosyne.errors import Conflict, FieldError, NotFound, ReadOnly, ValidationFailed

__all__ = [
    "by_names",
    "clear_secret",
    "create",
    "delete",
    "find_by_name",
    "get_by_name",
    "has_secrets",
    "keyring_from",
    "list_all",
    "record_learned_host_key",
    "reveal_secrets",
    "rotate_all",
    "select",
    "set_secret",
    "to_out",
    "to_spec",
    "update",
]


def _context(target_id: int, kind: str) -> str:
    return make_context("target", str(target_id), kind)


def get_by_name(session: Session, name: str) -> Target:
    target = find_by_name(session, name)
    if target is None:
        raise NotFound("target", name)
    return target


def find_by_name(session: Session, name: str) -> Target | None:
    return session.scalar(sa_select(Target).where(Target.name == name))


def by_names(session: Session, names: Sequence[str]) -> list[Target]:
    """The targets named ``names`` that exist, with their secrets loaded."""
    stmt = (
        sa_select(Target)
        .where(Target.name.in_(set(names)))
        .options(selectinload(Target.secrets))
        .order_by(Target.name)
    )
    return list(session.scalars(stmt))


def names(session: Session) -> list[str]:
    """Every target's name, sorted (for pickers: no secrets loaded)."""
    return list(session.scalars(sa_select(Target.name).order_by(Target.name)))


def list_all(session: Session) -> list[Target]:
    stmt = sa_select(Target).options(selectinload(Target.secrets)).order_by(Target.name)
    return list(session.scalars(stmt))


def to_spec(target: Target) -> TargetSpec:
    return TargetSpec.model_validate(
        {
            "name": target.name,
            "address": target.address,
            "port": target.port,
            "user": target.user,
            "labels": target.labels,
            "host_keys": target.host_keys,
            "trust_on_first_use": target.trust_on_first_use,
            "enabled": target.enabled,
        }
    )


def has_secrets(target: Target) -> list[str]:
    """The kinds of secret ``target`` has, sorted; never their values."""
    return sorted(s.kind for s in target.secrets)


def to_out(target: Target) -> TargetOut:
    return TargetOut(
        id=target.id,
        name=target.name,
        address=target.address,
        port=target.port,
        user=target.user,
        labels=dict(target.labels),
        host_keys=list(target.host_keys),
        trust_on_first_use=target.trust_on_first_use,
        enabled=target.enabled,
        secrets=has_secrets(target),
        managed_by=target.managed_by,
        source_file=target.source_file,
        created_at=target.created_at,
        updated_at=target.updated_at,
    )


def _assign(target: Target, spec: TargetSpec, now: datetime) -> None:
    target.address = spec.address
    target.port = spec.port
    target.user = spec.user
    target.labels = dict(spec.labels)
    target.host_keys = list(spec.host_keys)
    target.trust_on_first_use = spec.trust_on_first_use
    target.enabled = spec.enabled
    target.updated_at = now


def create(
    session: Session,
    spec: TargetSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Target:
    if find_by_name(session, spec.name) is not None:
        raise Conflict(f"a target named {spec.name!r} already exists")
    target = Target(
        name=spec.name, managed_by=managed_by, source_file=source_file, created_at=now, secrets=[]
    )
    _assign(target, spec, now)
    session.add(target)
    session.flush()
    bump_revision(session)  # rules select from the inventory they cache
    return target


def update(
    session: Session,
    name: str,
    spec: TargetSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Target:
    target = get_by_name(session, name)
    ReadOnly.unless_owner("target", target.name, target.managed_by, managed_by)
    if spec.name != name:
        raise Conflict("a target cannot be renamed; create a new one")
    target.source_file = source_file
    _assign(target, spec, now)
    session.flush()
    bump_revision(session)
    return target


def delete(session: Session, name: str, *, managed_by: str = "api") -> Target:
    """Delete a target and (by cascade) its secrets."""
    target = get_by_name(session, name)
    ReadOnly.unless_owner("target", target.name, target.managed_by, managed_by)
    session.delete(target)
    session.flush()
    bump_revision(session)
    return target


# --- selection ------------------------------------------------------------------------------


def select(
    session: Session,
    *,
    matchers: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
) -> list[Target]:
    """Enabled targets whose labels match every matcher (Alertmanager syntax, e.g.
    ``role="db"``, ``dc=~"par.*"``) and, if ``names`` is given, whose name is listed.

    An unknown name is ``NotFound``; a malformed matcher is ``ValidationFailed``. With neither
    argument, every enabled target.
    """
    try:
        compiled = parse_matchers(list(matchers or ()))
    except MatcherSyntaxError as exc:
        raise ValidationFailed([FieldError(("matchers",), str(exc))]) from None
    stmt = sa_select(Target).where(Target.enabled.is_(True)).order_by(Target.name)
    if names is not None:
        wanted = set(names)
        known = set(session.scalars(sa_select(Target.name).where(Target.name.in_(wanted))))
        missing = sorted(wanted - known)
        if missing:
            raise NotFound("target", missing[0])
        stmt = stmt.where(Target.name.in_(wanted))
    return [
        t
        for t in session.scalars(stmt)
        if first_mismatch(compiled, {str(k): str(v) for k, v in t.labels.items()}) is None
    ]


# --- secrets --------------------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in SECRET_KINDS:
        raise ValidationFailed.single(
            ("kind",), f"unknown secret kind {kind!r}; expected one of {list(SECRET_KINDS)}"
        )


def set_secret(
    session: Session,
    keyring: Keyring,
    target: Target,
    kind: str,
    secret: Secret,
    *,
    now: datetime,
) -> TargetSecret:
    """Store (or replace) ``target``'s secret of ``kind``, encrypted with the current key."""
    _check_kind(kind)
    if not secret.reveal():
        raise ValidationFailed.single(("value",), "a secret cannot be empty")
    token = keyring.encrypt(secret.reveal(), context=_context(target.id, kind))
    row = next((s for s in target.secrets if s.kind == kind), None)
    if row is None:
        row = TargetSecret(kind=kind, ciphertext=token, updated_at=now)
        target.secrets.append(row)
    else:
        row.ciphertext = token
        row.updated_at = now
    session.flush()
    return row


def clear_secret(session: Session, target: Target, kind: str) -> None:
    """Remove ``target``'s secret of ``kind``; ``NotFound`` if it has none."""
    _check_kind(kind)
    row = next((s for s in target.secrets if s.kind == kind), None)
    if row is None:
        raise NotFound("secret", f"{target.name}/{kind}")
    target.secrets.remove(row)
    session.flush()


def reveal_secrets(session: Session, keyring: Keyring, target: Target) -> dict[str, Secret]:
    """Every secret of ``target``, decrypted, by kind (``CryptoError`` on a wrong key)."""
    return {
        row.kind: Secret(keyring.decrypt(row.ciphertext, context=_context(target.id, row.kind)))
        for row in target.secrets  # loaded with the target by by_names/list_all, else lazily
    }


def rotate_all(session: Session, keyring: Keyring) -> int:
    """Re-encrypt every stored secret still under an old key; how many were re-encrypted.

    Each token is decrypted first, so one that is corrupt or whose key is gone raises
    ``CryptoError`` and the caller rolls everything back.
    """
    count = 0
    for row in session.scalars(sa_select(TargetSecret).order_by(TargetSecret.id)):
        if not keyring.needs_rotation(row.ciphertext):
            continue
        row.ciphertext = keyring.rotate(row.ciphertext, context=_context(row.target_id, row.kind))
        count += 1
    session.flush()
    return count


# --- host keys ------------------------------------------------------------------------------


def record_learned_host_key(session: Session, target: Target, key: str, *, now: datetime) -> bool:
    """Trust ``key`` for ``target`` after a first connection; True if it was added.

    Only for targets with ``trust_on_first_use`` and no host key yet: once a key is known, a
    different one is a changed host key, which is refused (``Conflict``), never learned.
    """
    line = check_host_key(key)
    if line in target.host_keys:
        return False
    if not target.trust_on_first_use:
        raise Conflict(f"target {target.name!r} does not trust on first use; add its host key")
    if target.host_keys:
        raise Conflict(
            f"target {target.name!r} already has trusted host keys; a different key is a "
            "changed host key and is not learned"
        )
    target.host_keys = [*target.host_keys, line]
    target.updated_at = now
    session.flush()
    return True
