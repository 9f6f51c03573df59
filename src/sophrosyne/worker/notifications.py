"""A companion thread of the worker that fires due escalation steps and sends pending
notifications, apart from the housekeeping thread so a slow channel never delays heartbeats.

Every worker runs one; they share the work through the database (claims are conditional
updates), so several workers never send one notification twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring
from sophrosyne.domains.notifications.escalation import IsAcknowledged
from sophrosyne.flows import notify
from sophrosyne.logging import get_logger

log = get_logger(__name__)


class NotificationPump:
    """Calls ``flows.notify.housekeep`` every ``settings.worker_poll_seconds``."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        notifier: notify.Notifier,
        *,
        keyring: Keyring | None,
        clock: Callable[[], datetime],
        is_acknowledged: IsAcknowledged | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.notifier = notifier
        self.keyring = keyring
        self.clock = clock
        #: Set by the composition root once incidents can answer it.
        self.is_acknowledged = is_acknowledged
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        return notify.housekeep(
            self.session_factory,
            self.notifier,
            settings=self.settings,
            keyring=self.keyring,
            clock=self.clock,
            is_acknowledged=self.is_acknowledged,
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.worker_poll_seconds):
            try:
                self.tick()
            except Exception:
                log.exception("notifications.pump_error")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sophrosyne-notify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.notify_timeout_seconds + 5)
