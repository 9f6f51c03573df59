"""The target inventory and its encrypted credentials (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sophrosyne.config import Settings
from sophrosyne.crypto import CryptoError, Keyring, Secret, generate_key, load_keyring
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.keys import keyring_from, optional_keyring
from sophrosyne.domains.targets.models import TargetSecret
from sophrosyne.domains.targets.schemas import TargetSpec
from sophrosyne.errors import Conflict, NotFound, ReadOnly, ValidationFailed

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfN6BHeLwZWFBcf8Be7wvuftTgyi7qqjLiuFKq60pT8"
PLAIN = "hunter2-very-secret-value"


def spec(name: str = "db-1", **extra: object) -> TargetSpec:
    return TargetSpec.model_validate(
        {"name": name, "address": "10.0.0.5", "labels": {"role": "db", "dc": "par1"}, **extra}
    )


@pytest.fixture
def keyring() -> Keyring:
    return load_keyring(key=generate_key(), key_file=None)


def test_create_update_delete(session: Session, now: datetime) -> None:
    target = targets.create(session, spec(user="deploy", host_keys=[HOST_KEY]), now=now)
    session.commit()
    got = targets.get_by_name(session, "db-1")
    assert (got.id, got.address, got.port, got.user) == (target.id, "10.0.0.5", 22, "deploy")
    assert got.labels == {"role": "db", "dc": "par1"}
    assert got.host_keys == [HOST_KEY] and got.trust_on_first_use is False
    assert got.managed_by == "api" and targets.has_secrets(got) == []
    with pytest.raises(Conflict):
        targets.create(session, spec(), now=now)
    session.rollback()

    later = now + timedelta(minutes=5)
    targets.update(session, "db-1", spec(address="db1.example.com", port=2222), now=later)
    session.commit()
    got = targets.get_by_name(session, "db-1")
    assert (got.address, got.port, got.updated_at, got.created_at) == (
        "db1.example.com",
        2222,
        later,
        now,
    )
    with pytest.raises(Conflict):
        targets.update(session, "db-1", spec("other"), now=later)
    with pytest.raises(ReadOnly):
        targets.update(session, "db-1", spec(), now=later, managed_by="file")
    targets.delete(session, "db-1")
    session.commit()
    with pytest.raises(NotFound):
        targets.get_by_name(session, "db-1")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", "not a host!"),
        ("address", "-bad.example.com"),
        ("port", 0),
        ("port", 70000),
        ("host_keys", ["ssh-ed25519"]),
        ("host_keys", ["ssh-ed25519 !!!notbase64"]),
        (
            "host_keys",
            ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHfN6BHeLwZWFBcf8Be7wvuftTgyi7qqjLiuFKq60pT8"],
        ),
        ("host_keys", ["ssh-foo AAAA"]),
        ("labels", {"bad-name": "x"}),
        ("password", "x"),
    ],
)
def test_spec_rejects(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        spec(**{field: value})
    assert info.value.errors()[0]["loc"][0] == field


def test_spec_normalises() -> None:
    s = spec(address="DB1.Example.COM.", host_keys=[HOST_KEY + " root@host", HOST_KEY])
    assert s.address == "db1.example.com"
    assert s.host_keys == [HOST_KEY]
    assert spec(address="2001:db8::1").address == "2001:db8::1"


def test_select_by_labels_and_names(session: Session, now: datetime) -> None:
    targets.create(session, spec("db-1"), now=now)
    targets.create(session, spec("db-2", labels={"role": "db", "dc": "ams1"}), now=now)
    targets.create(session, spec("web-1", labels={"role": "web", "dc": "par1"}), now=now)
    targets.create(session, spec("db-off", enabled=False), now=now)
    session.commit()

    def names(**kw: object) -> list[str]:
        return [t.name for t in targets.select(session, **kw)]  # type: ignore[arg-type]

    assert names() == ["db-1", "db-2", "web-1"]
    assert names(matchers=['role="db"']) == ["db-1", "db-2"]
    assert names(matchers=['role="db"', 'dc=~"par.*"']) == ["db-1"]
    assert names(matchers=['dc!="par1"']) == ["db-2"]
    assert names(names=["web-1", "db-off"]) == ["web-1"]
    assert names(names=["db-1", "web-1"], matchers=['role="web"']) == ["web-1"]
    with pytest.raises(NotFound):
        names(names=["nope"])
    with pytest.raises(ValidationFailed):
        names(matchers=["garbage"])


def test_secrets_are_encrypted_at_rest(session: Session, now: datetime, keyring: Keyring) -> None:
    target = targets.create(session, spec(), now=now)
    targets.set_secret(session, keyring, target, "password", Secret(PLAIN), now=now)
    targets.set_secret(session, keyring, target, "ssh_private_key", Secret("KEY-DATA"), now=now)
    session.commit()
    raw = session.execute(text("SELECT kind, ciphertext FROM target_secrets")).all()
    assert len(raw) == 2
    for _kind, ciphertext in raw:
        assert PLAIN not in ciphertext and "KEY-DATA" not in ciphertext
        assert ciphertext.startswith(f"v1:{keyring.current_key_id}:")
    assert targets.has_secrets(target) == ["password", "ssh_private_key"]
    revealed = targets.reveal_secrets(session, keyring, target)
    assert revealed == {"password": Secret(PLAIN), "ssh_private_key": Secret("KEY-DATA")}
    assert PLAIN not in repr(revealed)

    # Replacing keeps one row per kind.
    targets.set_secret(session, keyring, target, "password", Secret("new"), now=now)
    session.commit()
    assert targets.reveal_secrets(session, keyring, target)["password"].reveal() == "new"
    assert len(session.execute(text("SELECT id FROM target_secrets")).all()) == 2

    other = load_keyring(key=generate_key(), key_file=None)
    with pytest.raises(CryptoError):
        targets.reveal_secrets(session, other, target)

    targets.clear_secret(session, target, "password")
    session.commit()
    assert targets.has_secrets(targets.get_by_name(session, "db-1")) == ["ssh_private_key"]
    with pytest.raises(NotFound):
        targets.clear_secret(session, target, "password")
    with pytest.raises(ValidationFailed):
        targets.set_secret(session, keyring, target, "bogus", Secret("x"), now=now)


def test_ciphertext_copied_to_another_target_does_not_decrypt(
    session: Session, now: datetime, keyring: Keyring
) -> None:
    a = targets.create(session, spec("a"), now=now)
    b = targets.create(session, spec("b"), now=now)
    targets.set_secret(session, keyring, a, "password", Secret(PLAIN), now=now)
    targets.set_secret(session, keyring, b, "password", Secret("other"), now=now)
    session.commit()
    token_a = session.scalar(select(TargetSecret.ciphertext).where(TargetSecret.target_id == a.id))
    row_b = session.scalars(select(TargetSecret).where(TargetSecret.target_id == b.id)).one()
    row_b.ciphertext = token_a
    session.commit()
    with pytest.raises(CryptoError):
        targets.reveal_secrets(session, keyring, b)
    # Same target, other kind: does not decrypt either.
    row_b.ciphertext = token_a
    row_b.kind = "http_token"
    session.commit()
    with pytest.raises(CryptoError):
        targets.reveal_secrets(session, keyring, b)


def test_deleting_a_target_deletes_its_secrets(
    session: Session, now: datetime, keyring: Keyring
) -> None:
    target = targets.create(session, spec(), now=now)
    targets.set_secret(session, keyring, target, "password", Secret(PLAIN), now=now)
    session.commit()
    targets.delete(session, "db-1")
    session.commit()
    assert session.execute(text("SELECT count(*) FROM target_secrets")).scalar_one() == 0


def test_rotation_re_encrypts_with_the_new_key(session: Session, now: datetime) -> None:
    old_key, new_key = generate_key(), generate_key()
    old = load_keyring(key=old_key, key_file=None)
    for name in ("a", "b"):
        target = targets.create(session, spec(name), now=now)
        targets.set_secret(session, old, target, "password", Secret(f"{PLAIN}-{name}"), now=now)
    session.commit()

    rotating = load_keyring(key=new_key, key_file=None, old_keys=old_key)
    assert targets.rotate_all(session, rotating) == 2
    session.commit()
    assert targets.rotate_all(session, rotating) == 0  # nothing left under the old key

    only_new = load_keyring(key=new_key, key_file=None)
    for name in ("a", "b"):
        got = targets.reveal_secrets(session, only_new, targets.get_by_name(session, name))
        assert got == {"password": Secret(f"{PLAIN}-{name}")}
    with pytest.raises(CryptoError):
        targets.reveal_secrets(session, old, targets.get_by_name(session, "a"))


def test_rotation_without_the_old_key_fails_and_changes_nothing(
    session: Session, now: datetime
) -> None:
    old = load_keyring(key=generate_key(), key_file=None)
    target = targets.create(session, spec(), now=now)
    targets.set_secret(session, old, target, "password", Secret(PLAIN), now=now)
    session.commit()
    before = session.scalar(select(TargetSecret.ciphertext))
    with pytest.raises(CryptoError, match="SOPHROSYNE_SECRET_OLD_KEYS"):
        targets.rotate_all(session, load_keyring(key=generate_key(), key_file=None))
    session.rollback()
    assert session.scalar(select(TargetSecret.ciphertext)) == before


def test_trust_on_first_use_learns_one_key(session: Session, now: datetime) -> None:
    strict = targets.create(session, spec("strict"), now=now)
    with pytest.raises(Conflict, match="trust on first use"):
        targets.record_learned_host_key(session, strict, HOST_KEY, now=now)
    tofu = targets.create(session, spec("tofu", trust_on_first_use=True), now=now)
    assert targets.record_learned_host_key(session, tofu, HOST_KEY + " comment", now=now)
    session.commit()
    assert targets.get_by_name(session, "tofu").host_keys == [HOST_KEY]
    assert not targets.record_learned_host_key(session, tofu, HOST_KEY, now=now)
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(Conflict, match="changed host key"):
        targets.record_learned_host_key(session, tofu, other, now=now)


def test_keyring_from_settings(tmp_path: object) -> None:
    assert optional_keyring(Settings()) is None
    with pytest.raises(CryptoError, match="SOPHROSYNE_SECRET_KEY"):
        keyring_from(Settings())
    key, old = generate_key(), generate_key()
    ring = keyring_from(Settings(secret_key=key, secret_old_keys=f"{old}, "))
    assert len(ring.key_ids) == 2
    with pytest.raises(CryptoError, match="SOPHROSYNE_SECRET_KEY"):
        optional_keyring(Settings(secret_key="short"))
    assert key not in repr(Settings(secret_key=key))
