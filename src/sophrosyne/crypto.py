"""Secrets at rest: the key ring, authenticated encryption, and keeping secrets out of output.

This module owns everything Sophrosyne does with secret *values* (credentials of targets: SSH
private keys and passphrases, passwords, HTTP tokens, Ansible vault passwords):

* **Keys.** The key never lives in the database. It is 32 random bytes written as base64url,
  read from a key file (``SOPHROSYNE_SECRET_KEY_FILE``, which must not be readable by group or
  others) or from the environment (``SOPHROSYNE_SECRET_KEY``). Keys being retired are listed in
  ``SOPHROSYNE_SECRET_OLD_KEYS`` (comma separated). :func:`generate_key` makes a new key and
  :func:`load_keyring` turns those settings into a :class:`Keyring`, or raises a
  :class:`CryptoError` that names the setting that is wrong.
* **Encryption.** AES-256-GCM with a fresh random 96-bit nonce per encryption. The associated
  data binds each ciphertext to its purpose (its *context*, e.g. ``target:42:ssh_private_key``)
  so a ciphertext copied to another row or field does not decrypt. A token is a plain ASCII
  string, safe in a Text column: ``v1:<key id>:<base64url(nonce + ciphertext + tag)>``, where the
  key id is the first 8 hex digits of the SHA-256 of the raw key.
* **Not leaking.** :class:`Secret` wraps a value so that ``repr``/``str`` (and so logs and
  tracebacks) show ``Secret('**********')``; :func:`redact` removes secret values from command
  output and log text.

Key rotation
------------
A ring holds one *current* key (every new encryption uses it) and any number of *old* keys
(only used to decrypt); the key id in each token says which key to use. To rotate:

1. Generate a new key with :func:`generate_key`.
2. Restart every process with ``SOPHROSYNE_SECRET_KEY=<new>`` (or the new key in the key file)
   and ``SOPHROSYNE_SECRET_OLD_KEYS=<old>``. Existing tokens still decrypt; new ones use the
   new key.
3. Re-encrypt what is stored: for each stored token, if :meth:`Keyring.needs_rotation` says so,
   replace it with :meth:`Keyring.rotate` (same context it was encrypted with), and commit.
4. When no stored token needs rotation any more, remove the old key from
   ``SOPHROSYNE_SECRET_OLD_KEYS`` and restart.

Contexts must stay stable for the life of a token: build them from immutable identifiers
(see :func:`make_context`), or re-encrypt when an identifier they contain changes.

Nothing happens at import.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sophrosyne.errors import SophrosyneError

__all__ = [
    "KEY_FILE_SETTING",
    "KEY_SETTING",
    "OLD_KEYS_SETTING",
    "CryptoError",
    "Keyring",
    "Secret",
    "generate_key",
    "key_id",
    "load_keyring",
    "make_context",
    "redact",
]

KEY_SETTING: Final = "SOPHROSYNE_SECRET_KEY"
KEY_FILE_SETTING: Final = "SOPHROSYNE_SECRET_KEY_FILE"
OLD_KEYS_SETTING: Final = "SOPHROSYNE_SECRET_OLD_KEYS"

_VERSION: Final = "v1"
_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_KEY_ID_RE: Final = re.compile(r"[0-9a-f]{8}")
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_CANNOT_DECRYPT: Final = "cannot decrypt: wrong key or context"
_GENERATE_HINT: Final = (
    "generate one with: python -c "
    "'from sophrosyne.crypto import generate_key; print(generate_key())'"
)


class CryptoError(SophrosyneError):
    """A key could not be loaded, or a token could not be encrypted or decrypted.

    Messages name settings, paths and key ids, never plaintext or key material.
    """


# --- encoding helpers ------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Strict base64url (padding optional); ``None`` unless ``text`` is its canonical form."""
    if not _B64URL_RE.fullmatch(text):
        return None
    bare = text.rstrip("=")
    try:
        data = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        return None
    # Reject encodings whose unused trailing bits are set: one value, one spelling, so that
    # changing any character of a token changes the bytes it stands for.
    return data if _b64encode(data) == bare else None


def key_id(key: bytes) -> str:
    """The public name of a raw key: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


def make_context(*parts: str | int) -> str:
    """Join identifiers into an encryption context, e.g. ``make_context("target", 42, "password")``.

    ``%`` and ``:`` inside a part are escaped, so different parts never give the same context.
    Prefer immutable ids over names: a token only decrypts with the context it was made with.
    """
    if not parts:
        raise CryptoError("an encryption context needs at least one part")
    return ":".join(str(p).replace("%", "%25").replace(":", "%3A") for p in parts)


# --- keys ------------------------------------------------------------------------------------


def generate_key() -> str:
    """A new random key: base64url of 32 bytes from the operating system's CSPRNG."""
    return _b64encode(os.urandom(_KEY_BYTES))


def _parse_key(text: str, setting: str) -> bytes:
    data = _b64decode(text.strip())
    if data is None:
        raise CryptoError(f"{setting} is not valid base64url; {_GENERATE_HINT}")
    if len(data) != _KEY_BYTES:
        raise CryptoError(
            f"{setting} must be base64url of exactly {_KEY_BYTES} bytes, "
            f"got {len(data)} bytes; {_GENERATE_HINT}"
        )
    return data


def _read_key_file(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise CryptoError(f"{KEY_FILE_SETTING}: key file {path} does not exist") from None
    except OSError as exc:
        raise CryptoError(
            f"{KEY_FILE_SETTING}: cannot open key file {path}: {exc.strerror}"
        ) from None
    try:
        st = os.fstat(fd)  # the file actually opened, not whatever the path points at now
        if not stat.S_ISREG(st.st_mode):
            raise CryptoError(f"{KEY_FILE_SETTING}: {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise CryptoError(
                f"{KEY_FILE_SETTING}: key file {path} is readable or writable by group or "
                f"others (mode {mode:04o}); refusing to use it. Run: chmod 600 {path}"
            )
        raw = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise CryptoError(f"{KEY_FILE_SETTING}: key file {path} is not valid base64url") from None


def load_keyring(
    *,
    key: str | None,
    key_file: Path | None,
    old_keys: str | Sequence[str] = (),
) -> Keyring:
    """Build the key ring from the settings; exactly one of ``key`` and ``key_file`` is set.

    ``key`` is the value of ``SOPHROSYNE_SECRET_KEY``, ``key_file`` the path from
    ``SOPHROSYNE_SECRET_KEY_FILE`` (surrounding whitespace in the file is ignored), and
    ``old_keys`` the retired keys of ``SOPHROSYNE_SECRET_OLD_KEYS``, as a list or as the raw
    comma-separated string. An empty string counts as not set.

    Raises :class:`CryptoError`, naming the setting, when the key is missing or malformed or
    when the key file can be read by group or others.
    """
    has_key = key is not None and key.strip() != ""
    if has_key and key_file is not None:
        raise CryptoError(f"set only one of {KEY_SETTING} and {KEY_FILE_SETTING}, not both")
    if key is not None and has_key:
        current = _parse_key(key, KEY_SETTING)
    elif key_file is not None:
        current = _parse_key(_read_key_file(Path(key_file)), f"{KEY_FILE_SETTING} ({key_file})")
    else:
        raise CryptoError(
            f"no secret key configured: set {KEY_FILE_SETTING} to the path of a key file "
            f"(mode 600) or {KEY_SETTING}; {_GENERATE_HINT}"
        )
    entries = re.split(r"[,\s]+", old_keys) if isinstance(old_keys, str) else list(old_keys)
    old = [
        _parse_key(text, f"{OLD_KEYS_SETTING} (entry {n})")
        for n, text in enumerate((e for e in entries if e.strip()), start=1)
    ]
    return Keyring(current, old)


class Keyring:
    """One current key that encrypts, plus old keys that only decrypt (for rotation)."""

    __slots__ = ("_ciphers", "_current_id")

    def __init__(self, current: bytes, old: Iterable[bytes] = ()) -> None:
        ciphers: dict[str, AESGCM] = {}
        raw_by_id: dict[str, bytes] = {}
        for raw in (current, *old):
            if not isinstance(raw, bytes) or len(raw) != _KEY_BYTES:
                raise CryptoError(f"a key must be exactly {_KEY_BYTES} bytes")
            kid = key_id(raw)
            if kid in raw_by_id:
                if hmac.compare_digest(raw_by_id[kid], raw):
                    continue  # the same key listed twice (e.g. current also in old): harmless
                raise CryptoError(f"two different keys share the key id {kid}; generate another")
            raw_by_id[kid] = raw
            ciphers[kid] = AESGCM(raw)
        self._ciphers: dict[str, AESGCM] = ciphers
        self._current_id: str = key_id(current)

    def __repr__(self) -> str:
        old = [kid for kid in self._ciphers if kid != self._current_id]
        return f"Keyring(current={self._current_id!r}, old={old!r})"

    @property
    def current_key_id(self) -> str:
        """Key id of the key that new tokens are encrypted with."""
        return self._current_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Key ids of every key in the ring, the current one first."""
        return tuple(self._ciphers)

    @staticmethod
    def _aad(version: str, kid: str, context: str) -> bytes:
        return f"sophrosyne:{version}:{kid}:{context}".encode()

    @staticmethod
    def _check_context(context: str) -> None:
        if not isinstance(context, str) or not context:
            raise CryptoError("an encryption context must be a non-empty string")

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext`` with the current key, bound to ``context``; returns a token."""
        self._check_context(context)
        if not isinstance(plaintext, str):
            raise CryptoError("only str values can be encrypted")
        nonce = os.urandom(_NONCE_BYTES)
        kid = self._current_id
        sealed = self._ciphers[kid].encrypt(
            nonce, plaintext.encode("utf-8"), self._aad(_VERSION, kid, context)
        )
        return f"{_VERSION}:{kid}:{_b64encode(nonce + sealed)}"

    def _parse(self, token: str) -> tuple[str, str, bytes]:
        """Split a token into (version, key id, nonce + ciphertext); checks only its shape."""
        parts = token.split(":") if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != _VERSION or not _KEY_ID_RE.fullmatch(parts[1]):
            raise CryptoError("cannot decrypt: not a Sophrosyne encrypted token")
        body = _b64decode(parts[2])
        if body is None or len(body) < _NONCE_BYTES + _TAG_BYTES:
            raise CryptoError("cannot decrypt: not a Sophrosyne encrypted token")
        return parts[0], parts[1], body

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise CryptoError(
                f"{_CANNOT_DECRYPT} (key id {kid} is not in the key ring; "
                f"was its key removed from {OLD_KEYS_SETTING} too early?)"
            )
        return cipher

    def decrypt(self, token: str, *, context: str) -> str:
        """The plaintext of ``token``, which must have been encrypted with ``context``.

        Uses whichever key of the ring the token names. Raises :class:`CryptoError` if the
        token is malformed, its key is not in the ring, or it was altered or made for another
        context.
        """
        self._check_context(context)
        version, kid, body = self._parse(token)
        cipher = self._cipher(kid)
        try:
            data = cipher.decrypt(
                body[:_NONCE_BYTES], body[_NONCE_BYTES:], self._aad(version, kid, context)
            )
            return data.decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise CryptoError(_CANNOT_DECRYPT) from None

    def needs_rotation(self, token: str) -> bool:
        """Whether ``token`` was encrypted with an old key (or an older format).

        Raises :class:`CryptoError` if the token is malformed or its key is not in the ring.
        Does not authenticate the token; :meth:`rotate` does.
        """
        version, kid, _ = self._parse(token)
        self._cipher(kid)
        return kid != self._current_id or version != _VERSION

    def rotate(self, token: str, *, context: str) -> str:
        """``token`` re-encrypted with the current key (same ``context``).

        The token is always decrypted first, so a corrupt or misplaced token raises
        :class:`CryptoError`. A token already under the current key is returned unchanged, so
        callers can skip the write when the result equals the input.
        """
        plaintext = self.decrypt(token, context=context)
        if not self.needs_rotation(token):
            return token
        return self.encrypt(plaintext, context=context)


# --- keeping secrets out of output -----------------------------------------------------------


class Secret:
    """A secret value that does not show itself: ``repr``/``str`` are ``Secret('**********')``.

    Call :meth:`reveal` at the last moment, where the value is really needed.
    """

    __slots__ = ("_value",)

    _MASK: Final = "Secret('**********')"

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        """The secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return self._MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))


def redact(text: str, secrets: Iterable[str | Secret], marker: str = "[redacted]") -> str:
    """``text`` with every occurrence of every non-empty secret replaced by ``marker``.

    Occurrences are found in the original text, overlapping ones included, and each stretch of
    text covered by one or more of them becomes a single ``marker``: a secret that contains
    another is replaced whole, and two secrets that overlap leave no piece of either behind.
    """
    values = {s.reveal() if isinstance(s, Secret) else s for s in secrets}
    spans: list[tuple[int, int]] = []
    for value in values:
        if not value:
            continue
        start = text.find(value)
        while start != -1:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    pos = 0
    cur_start, cur_end = spans[0]
    for start, end in spans[1:]:
        if start <= cur_end:
            cur_end = max(cur_end, end)
            continue
        out += [text[pos:cur_start], marker]
        pos = cur_end
        cur_start, cur_end = start, end
    out += [text[pos:cur_start], marker, text[cur_end:]]
    return "".join(out)
