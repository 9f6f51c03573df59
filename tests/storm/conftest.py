"""Fixtures for the storm: the API tests' application, tokens and clock on both backends, and
the loopback HTTP receiver of the notification tests."""

from tests.api.conftest import (  # noqa: F401 - fixtures used by the tests here
    api,
    app,
    client,
    clock,
    enqueued,
    metrics,
    tokens,
)
from tests.executors.httpd import server  # noqa: F401
