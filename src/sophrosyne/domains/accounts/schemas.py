"""Pydantic schemas of API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Scope(StrEnum):
    """What a token may do: ``read``, ``write`` (implies read), ``ingest`` (alerts only)."""

    READ = "read"
    WRITE = "write"
    INGEST = "ingest"


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Short enough that the audit actor "token:<name>" fits its column.
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    scopes: Annotated[list[Scope], Field(min_length=1)] = Field(
        default_factory=lambda: [Scope.WRITE]
    )
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    """Returned once, at creation: the only time the secret is shown."""

    token: str
