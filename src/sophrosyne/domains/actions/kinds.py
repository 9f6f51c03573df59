"""What each action kind adds to an action: the kind-specific sections of ``ActionSpec``.

``shell`` runs ``argv`` on the worker's machine; ``ssh`` runs ``argv`` on every selected
target; ``script`` runs a stored bash or python body locally or on the targets; ``http`` sends
one request (once, or once per target); ``ansible`` runs a playbook from the config directory
on the targets. Templates in these sections see ``params`` (the typed parameters) and, where a
section says so, ``target`` (the target being addressed: name, address, port, user, labels).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sophrosyne.errors import FieldError

#: Kinds, and whether a run of that kind needs at least one target.
KINDS: dict[str, bool] = {
    "shell": False,
    "ssh": True,
    "script": False,
    "http": False,
    "ansible": True,
}
Kind = Literal["shell", "ssh", "script", "http", "ansible"]
HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
MAX_SCRIPT_BYTES = 64 * 1024


def needs_targets(kind: str, section: Mapping[str, Any]) -> bool:
    """Whether a run of an action of ``kind`` with kind settings ``section`` needs targets."""
    if kind == "script":
        return bool((section.get("script") or {}).get("run_on") == "targets")
    return KINDS.get(kind, False)


def target_problems(
    action_name: str, kind: str, section: Mapping[str, Any], selection: object | None
) -> list[FieldError]:
    """What is wrong with a rule's target selection for its action, if anything."""
    if selection is None and needs_targets(kind, section):
        return [
            FieldError(
                ("targets",),
                f"action {action_name!r} ({kind}) runs on targets; give the rule a target "
                "selection (from_label, selector or names)",
            )
        ]
    return []


class ScriptSection(BaseModel):
    """A script stored with the action. The body is never templated: values reach it only
    as positional arguments (``args``, templates over ``params``)."""

    model_config = ConfigDict(extra="forbid")

    interpreter: Literal["bash", "python"] = "bash"
    body: Annotated[str, Field(min_length=1)]
    args: list[str] = Field(default_factory=list, description="Templates over params.")
    run_on: Literal["local", "targets"] = Field(
        default="local", description="local: on the worker's machine; targets: over SSH."
    )

    @field_validator("body")
    @classmethod
    def _size(cls, value: str) -> str:
        size = len(value.encode("utf-8"))
        if size > MAX_SCRIPT_BYTES:
            raise ValueError(f"script body is {size} bytes; the limit is {MAX_SCRIPT_BYTES}")
        return value


class HttpSection(BaseModel):
    """One HTTP request. ``url``, header values, query values and ``body`` are templates over
    ``params`` and ``target``; a value inserted into the URL is percent-encoded."""

    model_config = ConfigDict(extra="forbid")

    method: HttpMethod = "POST"
    url: Annotated[str, Field(min_length=1, max_length=4096)]
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expected_status: list[Annotated[int, Field(ge=100, le=599)]] | None = Field(
        default=None, description="Status codes that count as success; default any 2xx."
    )
    verify_tls: bool = True
    follow_redirects: bool = False
    #: ``target_token``: send ``Authorization: Bearer <the target's http_token secret>``.
    auth: Literal["none", "target_token"] = "none"

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        head = value.split("{", 1)[0].lower()
        if not head.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https:// (not a template)")
        return value


class AnsibleSection(BaseModel):
    """A playbook, relative to the config directory; parameters become extra vars."""

    model_config = ConfigDict(extra="forbid")

    playbook: Annotated[str, Field(min_length=1, max_length=1024)]
    forks: int = Field(default=8, ge=1, le=64)
    python_interpreter: str | None = None

    @field_validator("playbook")
    @classmethod
    def _relative(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("playbook must be a path inside the config directory")
        if path.suffix not in (".yml", ".yaml"):
            raise ValueError("playbook must be a .yml or .yaml file")
        return value


#: Who an allow-list entry names: ``role:operator``, ``user:alice`` or ``token:ci``.
Principal = Annotated[str, Field(pattern=r"^(role|user|token):[a-z0-9][a-z0-9_.-]{0,119}$")]


class ApprovalPolicy(BaseModel):
    """How a run of this action is confirmed before it runs (rule mode ``confirm``, a held-back
    run, or a manual run when ``manual`` says so)."""

    model_config = ConfigDict(extra="forbid")

    quorum: int = Field(default=1, ge=1, le=10, description="Approvals needed.")
    requester_may_approve: bool = Field(
        default=False, description="May the person who asked for the run approve it too?"
    )
    expires_after_seconds: int = Field(
        default=3600, ge=60, le=30 * 86400, description="Unapproved by then: expired."
    )
    approvers: list[Principal] | None = Field(
        default=None,
        description="Who may approve (role:, user:, token:); default: anyone allowed to "
        "approve. Admins always may.",
    )
    manual: Literal["always", "never", "high_risk"] = Field(
        default="high_risk", description="When a run started by hand needs confirmation."
    )
