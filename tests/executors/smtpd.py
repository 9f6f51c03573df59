"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives.

Use the ``smtp`` fixture: ``from tests.executors.smtpd import Mailbox, smtp``.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def url(self, to: str, sender: str = "sophrosyne@example.org") -> str:
        """The apprise URL of a plain (no TLS, no login) SMTP server on loopback."""
        return f"mailto://{self.host}:{self.port}?mode=insecure&from={sender}&to={to}"

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = threading.Event()
        for _ in range(int(timeout * 20)):
            if len(self.messages) >= count:
                break
            deadline.wait(0.05)
        return self.messages


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.box.messages.append(message)
        self.box.arrived.set()
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(_Handler(box), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    assert part is not None
    return str(part.get_content())
