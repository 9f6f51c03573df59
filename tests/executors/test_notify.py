"""The apprise adapter on its own: invalid URLs, timeouts, and reasons without tokens."""

from __future__ import annotations

from sophrosyne.crypto import Secret
from sophrosyne.executors.notify import AppriseNotifier, NotifyRequest
from tests.executors.httpd import Server, server  # noqa: F401


def test_an_invalid_url_is_a_failure_not_an_exception() -> None:
    result = AppriseNotifier().send(NotifyRequest([Secret("nonsense://x")], "t", "b"))
    assert not result.ok and result.reason == "an apprise URL of the channel is not valid"


def test_a_slow_receiver_times_out(server: Server) -> None:  # noqa: F811
    port = server.base.rsplit(":", 1)[1]
    url = f"json://127.0.0.1:{port}/sleep?seconds=5&token=sekret-token-value"
    result = AppriseNotifier().send(NotifyRequest([Secret(url)], "t", "b", timeout_seconds=0.5))
    assert not result.ok
    assert result.reason is not None and "sekret-token-value" not in result.reason
    assert result.duration_seconds < 3
