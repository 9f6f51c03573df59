"""The dispatcher hands the worker's live-output sink to the executor of every kind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sophrosyne.executors.ansible import AnsibleResult
from sophrosyne.executors.base import ExecResult
from sophrosyne.executors.ssh import SshResult, SshTarget, TargetResult
from sophrosyne.flows.execute import Ticket
from sophrosyne.worker.dispatch import Dispatcher

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WEB1 = SshTarget(name="web1", host="10.0.0.1", user="deploy", known_host_keys=("ssh-ed25519 A",))


class Speaking:
    """An executor that says one thing through ``on_output`` and answers ``result``."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.requests: list[Any] = []

    def run(self, request: Any) -> Any:
        self.requests.append(request)
        request.on_output("[web1] hello\n")
        return self.result


SSH_RESULT = SshResult((TargetResult("web1", 0, "hello\n"),), 0.1)
CASES = {
    "shell": ({}, (), ExecResult(0, "hello\n", False, 0.1)),
    "ssh": ({}, (WEB1,), SSH_RESULT),
    "script": (
        {"interpreter": "bash", "body": "echo hello", "run_on": "targets"},
        (WEB1,),
        SSH_RESULT,
    ),
    "ansible": (
        {"playbook": "site.yml"},
        (WEB1,),
        AnsibleResult("successful", 0, "hello\n", False, {}, [], 0.1),
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_kind_streams_to_the_sink(kind: str) -> None:
    request, targets, result = CASES[kind]
    ticket = Ticket(
        run_id=1,
        kind=kind,
        action_name="act",
        argv=["echo", "hello"] if kind in ("shell", "ssh") else [],
        timeout_seconds=10,
        created_at=NOW,
        started_at=NOW,
        request=request,
        targets=targets,
    )
    executor = Speaking(result)
    heard: list[str] = []
    outcome = Dispatcher({kind: executor}).run(
        ticket, should_cancel=lambda: False, on_output=heard.append
    )
    assert outcome.exit_code == 0, outcome
    assert heard == ["[web1] hello\n"]
    assert executor.requests[0].on_output == heard.append
