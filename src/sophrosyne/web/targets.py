"""The target inventory, read only: each host, its labels, which kinds of credential it has
(never a value, a length or a ciphertext), its trusted host keys by fingerprint, and the
latest runs on it. Targets from config files are marked read-only."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.runs import service as runs
from sophrosyne.domains.targets import service as targets
from sophrosyne.web.guard import PageRoute, page
from sophrosyne.web.render import pages_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Reading = Annotated[Principal, page("targets.read")]
_RECENT_RUNS = 20


@dataclass(frozen=True)
class HostKey:
    """A trusted host key as OpenSSH shows it: the type and ``SHA256:`` fingerprint."""

    type: str
    fingerprint: str


def host_key(line: str) -> HostKey:
    """The fingerprint of ``"<type> <base64>"`` (``ssh-keygen -lf``'s SHA256 form)."""
    kind, _, blob = line.partition(" ")
    try:
        data = base64.b64decode(blob.split()[0] if blob.split() else "", validate=True)
    except (binascii.Error, ValueError):
        return HostKey(kind, "(unreadable key)")
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    return HostKey(kind, f"SHA256:{digest}")


@router.get("/targets")
def target_list(request: Request, state: State, _principal: Reading) -> Response:
    with state.reading() as session:
        items = [targets.to_out(t) for t in targets.list_all(session)]
    return pages_of(request).render(request, "targets.html", {"items": items})


@router.get("/targets/{name}")
def target_detail(request: Request, name: str, state: State, _principal: Reading) -> Response:
    with state.reading() as session:
        target = targets.to_out(targets.get_by_name(session, name))
        recent = runs.on_target(session, target.name, limit=_RECENT_RUNS)
        return pages_of(request).render(
            request,
            "target.html",
            {
                "target": target,
                "host_keys": [host_key(k) for k in target.host_keys],
                "runs": recent,
            },
        )
