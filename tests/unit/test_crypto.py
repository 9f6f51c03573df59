from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sophrosyne.crypto import (
    KEY_FILE_SETTING,
    KEY_SETTING,
    OLD_KEYS_SETTING,
    CryptoError,
    Keyring,
    Secret,
    generate_key,
    key_id,
    load_keyring,
    make_context,
    redact,
)
from sophrosyne.errors import SophrosyneError

CTX = "target:web-1:ssh_private_key"
PLAIN = "hunter2-s3cr3t-päss"
WRONG = r"^cannot decrypt: wrong key or context$"


def raw(key: str) -> bytes:
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))


def ring(key: str, *old: str) -> Keyring:
    return load_keyring(key=key, key_file=None, old_keys=old)


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def keyring(key: str) -> Keyring:
    return ring(key)


def key_file(tmp_path: Path, content: str, mode: int) -> Path:
    path = tmp_path / "secret.key"
    path.write_text(content)
    path.chmod(mode)
    return path


def swap_char(c: str) -> str:
    return "B" if c == "A" else "A"


# --- keys ------------------------------------------------------------------------------------


def test_generated_keys_are_32_random_bytes_in_base64url() -> None:
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    for k in keys:
        assert set(k) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert len(raw(k)) == 32


def test_crypto_error_is_a_sophrosyne_error() -> None:
    assert issubclass(CryptoError, SophrosyneError)


def test_key_id_is_first_8_hex_of_sha256(keyring: Keyring, key: str) -> None:
    import hashlib

    assert keyring.current_key_id == hashlib.sha256(raw(key)).hexdigest()[:8]
    assert key_id(raw(key)) == keyring.current_key_id


def test_missing_key_names_both_settings() -> None:
    with pytest.raises(CryptoError) as exc:
        load_keyring(key=None, key_file=None)
    assert KEY_SETTING in str(exc.value)
    assert KEY_FILE_SETTING in str(exc.value)


def test_empty_key_counts_as_missing() -> None:
    with pytest.raises(CryptoError, match="no secret key configured"):
        load_keyring(key="  ", key_file=None)


def test_key_and_key_file_together_are_ambiguous(tmp_path: Path, key: str) -> None:
    path = key_file(tmp_path, key, 0o600)
    with pytest.raises(CryptoError, match="only one of"):
        load_keyring(key=key, key_file=path)


@pytest.mark.parametrize("nbytes", [16, 31, 33, 64])
def test_key_of_wrong_length_is_refused(nbytes: int) -> None:
    bad = base64.urlsafe_b64encode(os.urandom(nbytes)).decode()
    with pytest.raises(CryptoError) as exc:
        load_keyring(key=bad, key_file=None)
    message = str(exc.value)
    assert message.startswith(KEY_SETTING)
    assert f"got {nbytes} bytes" in message
    assert bad not in message and bad.rstrip("=") not in message


@pytest.mark.parametrize(
    "bad",
    [
        "not base64 at all!!",
        "A" * 42 + "*",
        "abcde",  # impossible length for base64
        base64.b64encode(b"\xfb" * 32).decode(),  # standard alphabet: '+' and '/' refused
    ],
)
def test_key_that_is_not_base64url_is_refused(bad: str) -> None:
    with pytest.raises(CryptoError) as exc:
        load_keyring(key=bad, key_file=None)
    message = str(exc.value)
    assert message.startswith(f"{KEY_SETTING} is not valid base64url")
    assert bad not in message


def test_padded_and_unpadded_keys_are_the_same_key(key: str) -> None:
    padded = base64.urlsafe_b64encode(raw(key)).decode()
    assert padded != key
    assert ring(padded).current_key_id == ring(key).current_key_id


def test_key_from_environment_value_is_accepted(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv(KEY_SETTING, key + "\n")
    keyring = load_keyring(key=os.environ[KEY_SETTING], key_file=None)
    assert keyring.current_key_id == key_id(raw(key))
    assert keyring.decrypt(keyring.encrypt(PLAIN, context=CTX), context=CTX) == PLAIN


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_key_file_is_accepted(tmp_path: Path, key: str, mode: int) -> None:
    path = key_file(tmp_path, f"  {key}\n", mode)
    keyring = load_keyring(key=None, key_file=path)
    assert keyring.current_key_id == key_id(raw(key))
    # and works with a ring built from the same key given another way
    assert ring(key).decrypt(keyring.encrypt(PLAIN, context=CTX), context=CTX) == PLAIN


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606, 0o610])
def test_key_file_open_to_group_or_others_is_refused(tmp_path: Path, key: str, mode: int) -> None:
    path = key_file(tmp_path, key, mode)
    with pytest.raises(CryptoError) as exc:
        load_keyring(key=None, key_file=path)
    message = str(exc.value)
    assert message.startswith(KEY_FILE_SETTING)
    assert f"chmod 600 {path}" in message
    assert f"{mode:04o}" in message
    assert key not in message


def test_missing_key_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.key"
    with pytest.raises(CryptoError) as exc:
        load_keyring(key=None, key_file=path)
    assert KEY_FILE_SETTING in str(exc.value)
    assert str(path) in str(exc.value)


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    with pytest.raises(CryptoError, match=KEY_FILE_SETTING):
        load_keyring(key=None, key_file=directory)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (base64.urlsafe_b64encode(b"k" * 24).decode(), "exactly 32 bytes, got 24"),
        ("%%%%", "not valid base64url"),
        ("", "not valid base64url"),
        ("é" * 43, "not valid base64url"),
    ],
)
def test_malformed_key_file_is_named(tmp_path: Path, content: str, expected: str) -> None:
    path = key_file(tmp_path, content, 0o600)
    with pytest.raises(CryptoError) as exc:
        load_keyring(key=None, key_file=path)
    message = str(exc.value)
    assert message.startswith(KEY_FILE_SETTING)
    assert expected in message
    if content:
        assert content not in message


def test_malformed_old_key_names_the_setting_and_entry(key: str) -> None:
    with pytest.raises(CryptoError) as exc:
        load_keyring(key=key, key_file=None, old_keys=[generate_key(), "short"])
    message = str(exc.value)
    assert message.startswith(f"{OLD_KEYS_SETTING} (entry 2)")
    assert key not in message and "short" not in message


def test_old_keys_as_comma_separated_setting(key: str) -> None:
    old1, old2 = generate_key(), generate_key()
    keyring = load_keyring(key=key, key_file=None, old_keys=f"{old1}, {old2},")
    assert keyring.key_ids == (key_id(raw(key)), key_id(raw(old1)), key_id(raw(old2)))


def test_current_key_repeated_as_old_key_is_harmless(key: str) -> None:
    assert ring(key, key).key_ids == (key_id(raw(key)),)


def test_keyring_repr_shows_key_ids_only(key: str) -> None:
    old = generate_key()
    text = repr(ring(key, old))
    assert key_id(raw(key)) in text and key_id(raw(old)) in text
    for secret in (key, old, str(raw(key)), raw(key).hex()):
        assert secret not in text


def test_keyring_refuses_keys_of_wrong_size() -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        Keyring(b"x" * 16)


# --- encryption ------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [PLAIN, "", "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n"])
def test_round_trip(keyring: Keyring, plaintext: str) -> None:
    token = keyring.encrypt(plaintext, context=CTX)
    assert token.isascii() and token.isprintable()
    assert keyring.decrypt(token, context=CTX) == plaintext


def test_token_format(keyring: Keyring) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    version, kid, body = token.split(":")
    assert version == "v1"
    assert kid == keyring.current_key_id
    data = raw(body)
    assert len(data) == 12 + len(PLAIN.encode()) + 16  # nonce + ciphertext + tag
    assert PLAIN not in token
    assert PLAIN.encode() not in data


def test_every_encryption_differs(keyring: Keyring) -> None:
    tokens = [keyring.encrypt(PLAIN, context=CTX) for _ in range(50)]
    assert len(set(tokens)) == 50
    nonces = {raw(t.split(":")[2])[:12] for t in tokens}
    assert len(nonces) == 50


@pytest.mark.parametrize(
    "other", ["target:web-2:ssh_private_key", "target:web-1:password", "target:web-1", CTX + " "]
)
def test_other_context_fails(keyring: Keyring, other: str) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    with pytest.raises(CryptoError, match=WRONG):
        keyring.decrypt(token, context=other)


def test_empty_context_is_refused(keyring: Keyring) -> None:
    with pytest.raises(CryptoError, match="context"):
        keyring.encrypt(PLAIN, context="")
    token = keyring.encrypt(PLAIN, context=CTX)
    with pytest.raises(CryptoError, match="context"):
        keyring.decrypt(token, context="")


def test_tampering_with_any_character_fails(keyring: Keyring) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    for i, c in enumerate(token):
        tampered = token[:i] + swap_char(c) + token[i + 1 :]
        with pytest.raises(CryptoError):
            keyring.decrypt(tampered, context=CTX)


def test_tampering_with_any_bit_of_nonce_ciphertext_or_tag_fails(keyring: Keyring) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    prefix, body = token.rsplit(":", 1)
    data = raw(body)
    for i in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            tampered = prefix + ":" + base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("=")
            with pytest.raises(CryptoError, match=WRONG):
                keyring.decrypt(tampered, context=CTX)


def test_truncated_or_extended_token_fails(keyring: Keyring) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    for bad in (token[:-1], token[:-4], token + "A", token + "AAAA", token + "\n", " " + token):
        with pytest.raises(CryptoError):
            keyring.decrypt(bad, context=CTX)


@pytest.mark.parametrize(
    "bad",
    ["", "v1", "v1:abc", "v2:00000000:AAAA", "v1:0000000g:" + "A" * 40, "v1:00000000:" + "A" * 10],
)
def test_malformed_token_fails_clearly(keyring: Keyring, bad: str) -> None:
    with pytest.raises(CryptoError, match="not a Sophrosyne encrypted token"):
        keyring.decrypt(bad, context=CTX)


def test_non_canonical_base64_is_refused(keyring: Keyring) -> None:
    token = keyring.encrypt("x", context=CTX)  # 12 + 1 + 16 = 29 bytes: last char has spare bits
    prefix, body = token.rsplit(":", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(body[-1])
    sibling = alphabet[last ^ 1]  # differs only in a bit the decoder would ignore
    assert raw(body[:-1] + sibling) == raw(body)
    with pytest.raises(CryptoError):
        keyring.decrypt(f"{prefix}:{body[:-1]}{sibling}", context=CTX)


def test_wrong_key_fails(keyring: Keyring) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    other = ring(generate_key())
    with pytest.raises(CryptoError, match=r"^cannot decrypt: wrong key or context") as exc:
        other.decrypt(token, context=CTX)
    assert keyring.current_key_id in str(exc.value)  # says which key is missing
    # Even with the key id forged to point at the other key, it does not decrypt.
    forged = token.replace(keyring.current_key_id, other.current_key_id, 1)
    with pytest.raises(CryptoError, match=WRONG):
        other.decrypt(forged, context=CTX)


def test_errors_never_contain_plaintext_or_key(key: str, keyring: Keyring) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    messages: list[str] = []
    attempts: list[Callable[[], object]] = [
        lambda: keyring.decrypt(token, context="elsewhere"),
        lambda: ring(generate_key()).decrypt(token, context=CTX),
        lambda: keyring.decrypt(token[:-2] + "AA", context=CTX),
        lambda: keyring.decrypt("garbage", context=CTX),
        lambda: keyring.rotate(token, context="elsewhere"),
    ]
    for attempt in attempts:
        with pytest.raises(CryptoError) as exc:
            attempt()
        # no chained exception that a traceback would print along with it
        assert exc.value.__cause__ is None
        assert exc.value.__context__ is None or exc.value.__suppress_context__
        messages += [str(exc.value), repr(exc.value)]
    for message in messages:
        assert PLAIN not in message
        assert key not in message
        assert raw(key).hex() not in message


# --- rotation --------------------------------------------------------------------------------


def test_rotation() -> None:
    old_key, new_key = generate_key(), generate_key()
    old_ring = ring(old_key)
    token = old_ring.encrypt(PLAIN, context=CTX)
    assert not old_ring.needs_rotation(token)

    rotating = ring(new_key, old_key)
    assert rotating.decrypt(token, context=CTX) == PLAIN
    assert rotating.needs_rotation(token)

    rotated = rotating.rotate(token, context=CTX)
    assert rotated != token
    assert rotated.split(":")[1] == key_id(raw(new_key))
    assert not rotating.needs_rotation(rotated)

    new_only = ring(new_key)
    assert new_only.decrypt(rotated, context=CTX) == PLAIN
    assert not new_only.needs_rotation(rotated)
    with pytest.raises(CryptoError, match="not in the key ring"):
        new_only.decrypt(token, context=CTX)
    with pytest.raises(CryptoError, match="not in the key ring"):
        new_only.needs_rotation(token)


def test_rotate_keeps_context_binding() -> None:
    old_key, new_key = generate_key(), generate_key()
    token = ring(old_key).encrypt(PLAIN, context=CTX)
    rotated = ring(new_key, old_key).rotate(token, context=CTX)
    with pytest.raises(CryptoError, match=WRONG):
        ring(new_key).decrypt(rotated, context="target:web-2:ssh_private_key")


def test_rotate_of_current_token_returns_it_unchanged(keyring: Keyring) -> None:
    token = keyring.encrypt(PLAIN, context=CTX)
    assert keyring.rotate(token, context=CTX) == token


def test_rotate_verifies_the_token_first() -> None:
    old_key, new_key = generate_key(), generate_key()
    token = ring(old_key).encrypt(PLAIN, context=CTX)
    with pytest.raises(CryptoError, match=WRONG):
        ring(new_key, old_key).rotate(token, context="target:web-2:ssh_private_key")


# --- contexts --------------------------------------------------------------------------------


def test_make_context() -> None:
    assert make_context("target", 42, "password") == "target:42:password"
    # parts containing the separator cannot be confused with other parts
    assert make_context("target", "a:b", "c") != make_context("target", "a", "b:c")
    assert make_context("t", "a%3Ab") != make_context("t", "a:b")
    with pytest.raises(CryptoError):
        make_context()


# --- Secret ----------------------------------------------------------------------------------


def test_secret_is_masked_in_repr_and_str() -> None:
    secret = Secret(PLAIN)
    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "Secret('**********')"
    assert f"{secret}" == "Secret('**********')"
    assert PLAIN not in repr([secret, {"password": secret}])
    assert PLAIN not in f"{secret!r} {secret!s}"
    assert secret.reveal() == PLAIN


def test_secret_does_not_leak_through_a_traceback() -> None:
    import traceback

    def fail(password: Secret) -> None:
        raise RuntimeError(f"login failed with {password}")

    try:
        fail(Secret(PLAIN))
    except RuntimeError as exc:
        rendered = "".join(
            traceback.TracebackException.from_exception(exc, capture_locals=True).format()
        )
    assert "Secret('**********')" in rendered
    assert PLAIN not in rendered


def test_secret_equality_and_type() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert len({Secret("a"), Secret("a")}) == 1
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Secret("a").other = 1  # type: ignore[attr-defined]


# --- redact ----------------------------------------------------------------------------------


def test_redact_replaces_every_occurrence() -> None:
    assert redact("pw=s3cret; again s3cret.", ["s3cret"]) == "pw=[redacted]; again [redacted]."
    assert redact("nothing here", ["s3cret"]) == "nothing here"


def test_redact_secret_containing_another_is_replaced_whole() -> None:
    assert redact("my password is set", ["pass", "password"]) == "my [redacted] is set"
    assert redact("my password is set", ["password", "pass"]) == "my [redacted] is set"
    assert redact("a pass and a password", ["pass", "password"]) == (
        "a [redacted] and a [redacted]"
    )


def test_redact_overlapping_secrets_leave_no_piece() -> None:
    assert redact("xx abcdef yy", ["abcd", "cdef"]) == "xx [redacted] yy"
    assert redact("aaaa", ["aa"]) == "[redacted]"
    assert redact("abab", ["aba"]) == "[redacted]b"
    # a secret overlapping itself: no trailing piece of the second occurrence survives
    assert redact("aaa", ["aa"]) == "[redacted]"
    assert redact("x ababa y", ["aba"]) == "x [redacted] y"


def test_redact_ignores_empty_secret() -> None:
    assert redact("text", ["", "ex"]) == "t[redacted]t"
    assert redact("text", [""]) == "text"
    assert redact("", ["x"]) == ""


def test_redact_multiline() -> None:
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----"
    output = f"line one\nusing key:\n{pem}\nvault=v4ult-pw\nend\n"
    assert redact(output, [pem, "v4ult-pw"]) == (
        "line one\nusing key:\n[redacted]\nvault=[redacted]\nend\n"
    )


def test_redact_custom_marker_and_secret_objects() -> None:
    assert redact("token abc123", [Secret("abc123")], marker="***") == "token ***"


def test_redact_does_not_redact_inside_its_own_marker() -> None:
    assert redact("red", ["red"], marker="[redacted]") == "[redacted]"
    assert redact("a-b", ["a", "b"], marker="ab") == "ab-ab"
