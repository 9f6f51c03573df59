"""Roles of users and what each may do: plain data, enforced by the edges (routes, pages).

The permissions line up with the API token scopes: ``READ`` is what a ``read`` token may do,
every other permission needs a ``write`` token, and ``INGEST`` is the ``ingest`` scope.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sophrosyne.domains.accounts.schemas import Role, Scope

__all__ = ["SCOPE_OF", "Permission", "Role", "allows", "permissions", "token_scopes"]


class Permission(StrEnum):
    READ = "read"
    RUN = "run"  # start a run by hand, retry, cancel
    APPROVE = "approve"  # approve or reject a confirmation
    ACK = "ack"  # acknowledge alerts and incidents, silence
    EDIT_KNOWLEDGE = "edit_knowledge"  # actions, rules, recommendations, targets
    INGEST = "ingest"  # post alerts
    MANAGE_USERS = "manage_users"  # users and roles
    MANAGE_TOKENS = "manage_tokens"  # API tokens
    MANAGE_SECRETS = "manage_secrets"  # target credentials, key rotation
    ADMINISTER = "administer"  # settings, kill switch, audit export


_BY_ROLE: Final[dict[Role, frozenset[Permission]]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(
        {
            Permission.READ,
            Permission.RUN,
            Permission.APPROVE,
            Permission.ACK,
            Permission.EDIT_KNOWLEDGE,
        }
    ),
    Role.VIEWER: frozenset({Permission.READ}),
}

#: The token scope that allows the same thing as each permission.
SCOPE_OF: Final[dict[Permission, Scope]] = {
    p: (
        Scope.READ
        if p is Permission.READ
        else Scope.INGEST
        if p is Permission.INGEST
        else Scope.WRITE
    )
    for p in Permission
}


def permissions(role: Role | str) -> frozenset[Permission]:
    """What ``role`` may do; ``ValueError`` for an unknown role."""
    return _BY_ROLE[Role(role)]


def allows(role: Role | str, needed: Permission) -> bool:
    return needed in permissions(role)


def token_scopes(role: Role | str) -> frozenset[Scope]:
    """The token scopes that together cover ``role``'s permissions."""
    return frozenset(SCOPE_OF[p] for p in permissions(role))
