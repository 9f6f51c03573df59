"""The pin of a run: one hash over exactly what will run, so an approval given to one command
cannot be spent on another.

It covers the action, its kind, the rendered argv and request, the typed parameters, the
targets and the timeout, serialised canonically (sorted keys, no spaces). Secrets are not in
it: they are not in the run either, only fetched by the worker at claim time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any


def pin_of(
    *,
    action_name: str,
    kind: str,
    argv: Sequence[str],
    request: Mapping[str, Any],
    params: Mapping[str, Any],
    targets: Sequence[str],
    timeout_seconds: int,
) -> str:
    """SHA-256 (hex) of the canonical form of what will run."""
    canonical = json.dumps(
        {
            "action": action_name,
            "kind": kind,
            "argv": list(argv),
            "request": request,
            "params": params,
            "targets": list(targets),
            "timeout_seconds": timeout_seconds,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def pin_of_run(run: Any) -> str:
    """The pin of anything shaped like a run (a stored ``Run`` or a ``NewRun``)."""
    return pin_of(
        action_name=run.action_name,
        kind=run.kind,
        argv=run.argv,
        request=run.request,
        params=run.params,
        targets=run.targets,
        timeout_seconds=run.timeout_seconds,
    )
