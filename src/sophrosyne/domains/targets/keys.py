"""The key ring from the settings: the one place that joins ``config`` and ``crypto``."""

from __future__ import annotations

from sophrosyne.config import Settings
from sophrosyne.crypto import KEY_FILE_SETTING, KEY_SETTING, CryptoError, Keyring, load_keyring
from sophrosyne.errors import ValidationFailed

NO_KEY_MESSAGE = (
    f"no secret key configured, so secrets cannot be stored: set {KEY_SETTING} "
    f"(or {KEY_FILE_SETTING}) and restart; generate a key with `sophrosyne key generate`"
)


def keyring_from(settings: Settings) -> Keyring:
    """The key ring the settings describe; ``CryptoError`` naming the setting if there is none
    or it is malformed."""
    return load_keyring(
        key=settings.secret_key,
        key_file=settings.secret_key_file,
        old_keys=settings.secret_old_keys,
    )


def key_configured(settings: Settings) -> bool:
    return bool(settings.secret_key and settings.secret_key.strip()) or (
        settings.secret_key_file is not None
    )


def optional_keyring(settings: Settings) -> Keyring | None:
    """``None`` when no key is configured at all (the server still starts; secrets cannot be
    set); a malformed key still raises ``CryptoError``, so a typo is never silently ignored."""
    return keyring_from(settings) if key_configured(settings) else None


def require_keyring(keyring: Keyring | None) -> Keyring:
    """``keyring``, or a 422-style ``ValidationFailed`` naming the setting to configure."""
    if keyring is None:
        raise ValidationFailed.single(("value",), NO_KEY_MESSAGE)
    return keyring


__all__ = [
    "NO_KEY_MESSAGE",
    "CryptoError",
    "key_configured",
    "keyring_from",
    "optional_keyring",
    "require_keyring",
]
