"""Real loopback servers for the notification tests: SMTP (aiosmtpd) and HTTP."""

from tests.executors.httpd import server
from tests.executors.smtpd import smtp

__all__ = ["server", "smtp"]
