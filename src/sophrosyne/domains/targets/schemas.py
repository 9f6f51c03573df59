"""Pydantic schemas of targets: the definition (never with secrets) and what the API shows."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import struct
from datetime import datetime
from typing import Annotated, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
)

from sophrosyne.domains.actions.schemas import Name

SecretKind = Literal[
    "ssh_private_key", "ssh_passphrase", "password", "http_token", "vault_password"
]
SECRET_KINDS: Final[tuple[str, ...]] = get_args(SecretKind)

#: Keys that look like credentials: refused in config files with a pointer to the API / CLI.
SECRET_LIKE_KEYS: Final = frozenset(
    {*SECRET_KINDS, "private_key", "passphrase", "token", "secret", "secrets", "key"}
)

#: OpenSSH public key algorithms a host key may use.
HOST_KEY_TYPES: Final = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)

LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
User = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_address(value: str) -> str:
    """``value`` if it is an IPv4/IPv6 address or an RFC 1123 host name, else ValueError."""
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    host = text.removesuffix(".")
    if not host or len(host) > 253 or not all(_HOST_LABEL.match(p) for p in host.split(".")):
        raise ValueError(f"{value!r} is neither an IP address nor a valid host name")
    return host.lower()


def check_host_key(line: str) -> str:
    """An OpenSSH public host key as ``"<type> <base64>"`` (a trailing comment is dropped)."""
    parts = line.split()
    if len(parts) < 2:
        raise ValueError("expected '<type> <base64>', e.g. 'ssh-ed25519 AAAAC3Nza…'")
    kind, blob = parts[0], parts[1]
    if kind not in HOST_KEY_TYPES:
        raise ValueError(
            f"unknown host key type {kind!r}; expected one of {sorted(HOST_KEY_TYPES)}"
        )
    try:
        data = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the {kind} key is not valid base64") from None
    # The blob starts with the algorithm name, length-prefixed: a cheap check it is this key.
    if len(data) < 4:
        raise ValueError(f"the {kind} key is too short")
    (size,) = struct.unpack(">I", data[:4])
    if data[4 : 4 + size] != kind.encode():
        raise ValueError(f"the key data does not belong to a {kind} key")
    return f"{kind} {blob}"


class TargetSpec(BaseModel):
    """A target as written in YAML or sent to the API. Credentials are never part of it."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    address: Annotated[str, Field(min_length=1, max_length=255)]
    port: int = Field(default=22, ge=1, le=65535)
    user: User | None = None
    labels: dict[LabelName, Annotated[str, Field(max_length=1024)]] = Field(default_factory=dict)
    host_keys: list[str] = Field(
        default_factory=list,
        description="OpenSSH public host keys trusted for this host, '<type> <base64>'.",
    )
    trust_on_first_use: bool = Field(
        default=False,
        description="Accept and record the host key seen on the first connection.",
    )
    enabled: bool = True

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return check_address(value)

    @field_validator("host_keys")
    @classmethod
    def _host_keys(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for i, line in enumerate(value):
            try:
                key = check_host_key(line)
            except ValueError as exc:
                raise ValueError(f"host_keys[{i}]: {exc}") from exc
            if key not in out:
                out.append(key)
        return out


class SecretValue(BaseModel):
    """The body that sets a secret; the value is masked in ``repr`` and never sent back."""

    model_config = ConfigDict(extra="forbid")

    value: SecretStr = Field(min_length=1, max_length=64 * 1024)


class SecretIn(SecretValue):
    """A secret with its kind."""

    kind: SecretKind


class TargetOut(BaseModel):
    """A target as the API shows it: which kinds of secret it has, never their values."""

    id: int
    name: str
    address: str
    port: int
    user: str | None
    labels: dict[str, str]
    host_keys: list[str]
    trust_on_first_use: bool
    enabled: bool
    secrets: list[str]
    managed_by: str
    source_file: str | None
    created_at: datetime
    updated_at: datetime
