"""Mounting the pages and their static files on the application."""

from __future__ import annotations

from fastapi import FastAPI

from sophrosyne.web import actions, alerts, auth, confirmations, fatigue, runs
from sophrosyne.web.render import STATIC_PREFIX, Pages, make_environment, static_files


def install(app: FastAPI) -> None:
    """Add the pages (``/``, ``/login``, ``/alerts``…) and ``/static`` to ``app``."""
    app.state.sophrosyne_pages = Pages(make_environment())
    for module in (auth, alerts, actions, runs, confirmations, fatigue):
        app.include_router(module.router)
    app.mount(STATIC_PREFIX, static_files(), name="static")
