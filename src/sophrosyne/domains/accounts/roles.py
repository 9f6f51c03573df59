"""Who may do what: roles, permissions, token scopes, and the one map from each activity of the
API (and later the web pages) to the permission it needs. Plain data; the edges enforce it.

Every route declares an activity (``permit("runs.create")`` in ``api.deps``); ``ACTIVITIES``
says which permission that activity needs. A caller is allowed when the permission is in its
effective permissions: a logged-in user's are its role's; a token's are its scopes' intersected
with its owner's role (a service token made by the CLI has no owner: its scopes alone).

Scopes line up with permissions: ``read`` gives what reads (``READ``, ``ACCOUNT``), ``ingest``
only ``INGEST``, and ``write`` every permission (write implies read, and may ingest).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from sophrosyne.domains.accounts.schemas import Role, Scope

__all__ = [
    "ACTIVITIES",
    "BEFORE_PASSWORD_CHANGE",
    "PUBLIC_ACTIVITIES",
    "SCOPE_OF",
    "SESSION_ONLY",
    "Permission",
    "Role",
    "allows",
    "permissions",
    "scope_permissions",
    "token_scopes",
]


class Permission(StrEnum):
    READ = "read"  # see alerts, runs, the catalog, targets (never secrets), the audit log
    ACCOUNT = "account"  # one's own account: who am I, log out, change one's password
    OWN_TOKENS = "own_tokens"  # create, list and revoke one's own API tokens
    RUN = "run"  # start a run by hand, retry, cancel
    APPROVE = "approve"  # approve or reject a confirmation
    ACK = "ack"  # acknowledge alerts and incidents, silence
    EDIT_KNOWLEDGE = "edit_knowledge"  # knowledge shared by the team (notes, articles)
    INGEST = "ingest"  # post alerts
    EDIT_CATALOG = "edit_catalog"  # actions, rules, target definitions
    MANAGE_USERS = "manage_users"  # users and roles
    MANAGE_TOKENS = "manage_tokens"  # every API token, not only one's own
    MANAGE_SECRETS = "manage_secrets"  # target credentials, key rotation
    ADMINISTER = "administer"  # settings, kill switch, audit export


_SELF_SERVICE: Final = frozenset({Permission.ACCOUNT, Permission.OWN_TOKENS})
_EVERYONE: Final = _SELF_SERVICE | {Permission.READ}

_BY_ROLE: Final[dict[Role, frozenset[Permission]]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: _EVERYONE
    | {
        Permission.RUN,
        Permission.APPROVE,
        Permission.ACK,
        Permission.EDIT_KNOWLEDGE,
        Permission.INGEST,
    },
    Role.VIEWER: _EVERYONE,
}

#: The token scope that allows the same thing as each permission.
SCOPE_OF: Final[dict[Permission, Scope]] = {
    p: (
        Scope.READ
        if p in (Permission.READ, Permission.ACCOUNT)
        else Scope.INGEST
        if p is Permission.INGEST
        else Scope.WRITE
    )
    for p in Permission
}

#: The activity each route (or page) performs, and the permission it needs: the one map.
ACTIVITIES: Final[dict[str, Permission]] = {
    # one's own account and session
    "auth.me": Permission.ACCOUNT,
    "auth.logout": Permission.ACCOUNT,
    "auth.password": Permission.ACCOUNT,
    "tokens.own": Permission.OWN_TOKENS,
    # alerts
    "alerts.ingest": Permission.INGEST,
    "alerts.read": Permission.READ,
    "alerts.ack": Permission.ACK,
    # the catalog and the inventory
    "actions.read": Permission.READ,
    "actions.edit": Permission.EDIT_CATALOG,
    "rules.read": Permission.READ,
    "rules.edit": Permission.EDIT_CATALOG,
    "targets.read": Permission.READ,
    "targets.edit": Permission.EDIT_CATALOG,
    "targets.secrets": Permission.MANAGE_SECRETS,
    # runs
    "runs.read": Permission.READ,
    "runs.create": Permission.RUN,
    "runs.cancel": Permission.RUN,
    "runs.approve": Permission.APPROVE,
    "confirmations.read": Permission.READ,
    # knowledge: runbook articles, recommendations, and the tasks people work on
    "knowledge.read": Permission.READ,
    "knowledge.edit": Permission.EDIT_KNOWLEDGE,
    "recommendations.read": Permission.READ,
    "recommendations.edit": Permission.EDIT_KNOWLEDGE,
    "tasks.read": Permission.READ,
    "tasks.work": Permission.ACK,
    # incidents
    "incidents.read": Permission.READ,
    "incidents.edit": Permission.ACK,
    # reports: the alert fatigue report
    "fatigue.read": Permission.READ,
    # noise control: silences (who may acknowledge an alert may silence it)
    "silences.read": Permission.READ,
    "silences.edit": Permission.ACK,
    # maintenance windows: like silences, they only ever withhold automation (never start
    # anything), are bounded in time and recorded on every alert and run they hold; the
    # person doing the maintenance is a responder, not necessarily a catalog editor
    "maintenance.read": Permission.READ,
    "maintenance.edit": Permission.ACK,
    # notifications and on-call (channel URLs carry tokens: secrets)
    "notifications.read": Permission.READ,
    "notifications.edit": Permission.EDIT_CATALOG,
    "notifications.secrets": Permission.MANAGE_SECRETS,
    "oncall.read": Permission.READ,
    "oncall.edit": Permission.EDIT_CATALOG,
    "oncall.override": Permission.ACK,
    # reports
    "reports.read": Permission.READ,
    # administration
    "audit.read": Permission.READ,
    "users.read": Permission.MANAGE_USERS,
    "users.edit": Permission.MANAGE_USERS,
    "automation.read": Permission.READ,
    "automation.kill_switch": Permission.ADMINISTER,
    "settings.read": Permission.ADMINISTER,  # the effective settings page (never secrets)
}

#: Activities open to anyone, without credentials.
PUBLIC_ACTIVITIES: Final = frozenset({"auth.login"})

#: Activities only a logged-in person may perform, never a token (a stolen token must not
#: change its owner's password).
SESSION_ONLY: Final = frozenset({"auth.logout", "auth.password"})

#: All a user who must change their password may do until they have.
BEFORE_PASSWORD_CHANGE: Final = frozenset({"auth.me", "auth.password", "auth.logout"})


def permissions(role: Role | str) -> frozenset[Permission]:
    """What ``role`` may do; ``ValueError`` for an unknown role."""
    return _BY_ROLE[Role(role)]


def allows(role: Role | str, needed: Permission) -> bool:
    return needed in permissions(role)


def token_scopes(role: Role | str) -> frozenset[Scope]:
    """The widest scopes a token owned by someone with ``role`` may have: those that cover the
    role's permissions, leaving aside the self-service ones everyone has (a viewer may manage
    its own tokens, but that does not earn it ``write`` tokens)."""
    return frozenset(SCOPE_OF[p] for p in permissions(role) - _SELF_SERVICE)


def scope_permissions(scopes: Iterable[str]) -> frozenset[Permission]:
    """The permissions a token with ``scopes`` has before its owner's role is applied."""
    given = {Scope(s) for s in scopes}
    if Scope.WRITE in given:
        return frozenset(Permission)
    return frozenset(p for p in Permission if SCOPE_OF[p] in given)
