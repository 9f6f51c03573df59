"""Mounting the pages and their static files on the application."""

from __future__ import annotations

from fastapi import FastAPI

from sophrosyne.web import (
    actions,
    alerts,
    auditlog,
    auth,
    catalog,
    confirmations,
    fatigue,
    incidents,
    knowledge,
    maintenance,
    people,
    reports,
    rules,
    runs,
    settings,
    silences,
    targets,
    tasks,
)
from sophrosyne.web.render import STATIC_PREFIX, Pages, make_environment, static_files

#: Every module that adds pages, in the order their routes are tried.
PAGE_MODULES = (
    auth,
    alerts,
    catalog,  # before actions and rules: /actions/new is not the action named "new"
    actions,
    rules,
    runs,
    confirmations,
    incidents,
    tasks,
    knowledge,
    targets,
    silences,
    maintenance,
    fatigue,
    reports,
    people,
    auditlog,
    settings,
)


def install(app: FastAPI) -> None:
    """Add the pages (``/``, ``/login``, ``/alerts``…) and ``/static`` to ``app``."""
    app.state.sophrosyne_pages = Pages(make_environment())
    for module in PAGE_MODULES:
        app.include_router(module.router)
    app.mount(STATIC_PREFIX, static_files(), name="static")
