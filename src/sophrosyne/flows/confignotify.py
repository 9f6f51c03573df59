"""Config as code for notifications and on-call: the checks of ``channels:``,
``notification_routes:``, ``schedules:`` and ``escalation_policies:``.

This module owns what is particular to those sections: a channel's URLs are never in a file
(``url``/``urls`` keys and URL-looking values are refused before the schema sees them), they
are read from the environment variable or the file the channel names (:func:`read_urls`,
when validating and again when applying), and the names that routes and escalation policies
use must exist: channels and schedules in the files or managed through the API, users in the
database (checked only when there is one: ``apply``, not the offline ``validate``).

``flows.configcode`` loads the sections and calls :func:`problems`; ``flows.applynotify``
stores them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sophrosyne.domains.notifications.schemas import NO_URLS_IN_FILES, ChannelFileSpec
from sophrosyne.domains.notifications.service import URL_PATTERN, route_problems
from sophrosyne.domains.targets.keys import NO_KEY_MESSAGE
from sophrosyne.flows.configyaml import Loc, Problem

if TYPE_CHECKING:  # configcode imports this module to run its checks
    from sophrosyne.flows.configcode import ConfigBundle

#: Looks like ``scheme://…``: a URL (and maybe its token) written where a name was expected.
_URL_LIKE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")
#: At most this many URLs per channel, as through the API.
MAX_URLS = 20


@dataclass(frozen=True)
class Known:
    """What exists outside the files: API-managed channels and schedules, the users (None: no
    database to ask, so users are not checked), and whether a server key can encrypt URLs."""

    channels: frozenset[str] = frozenset()
    schedules: frozenset[str] = frozenset()
    users: frozenset[str] | None = None
    can_encrypt: bool = True


class UrlSourceError(ValueError):
    """A channel's URLs cannot be read; ``field`` is ``url_env`` or ``url_file``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def literal_url_problems(item: Mapping[Any, Any], loc: Loc, file: str, line: Any) -> list[Problem]:
    """A channel's ``url``/``urls`` keys, and URL-looking values of ``url_env``/``url_file``:
    refused with where they go instead. The value is never repeated (it may hold a token)."""
    out = []
    for key, value in item.items():
        looks_like_url = isinstance(value, str) and _URL_LIKE.match(value) is not None
        if key in ("url", "urls") or (key in ("url_env", "url_file") and looks_like_url):
            where = (*loc, str(key))
            out.append(Problem(file, line(where), where, NO_URLS_IN_FILES))
    return out


def read_urls(
    spec: ChannelFileSpec, root: Path, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The channel's URLs from its variable (split on spaces and commas, as the API's
    ``url_env``) or its file (one per line, ``#`` comments; a relative path is under the
    config directory); [] when it names neither. ``UrlSourceError`` naming the field when they
    are missing, empty or not URLs; the message never holds a URL."""
    env = os.environ if environ is None else environ
    if spec.url_env is not None:
        field, what = "url_env", f"environment variable {spec.url_env}"
        raw = env.get(spec.url_env)
        if raw is None:
            raise UrlSourceError(field, f"{what} is not set")
        urls = [u for u in re.split(r"[\s,]+", raw) if u]
    elif spec.url_file is not None:
        path = root / spec.url_file  # an absolute url_file stays as written
        field, what = "url_file", f"file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise UrlSourceError(field, f"cannot read {what}: {reason}") from None
        lines = (line.strip() for line in text.splitlines())
        urls = [line for line in lines if line and not line.startswith("#")]
    else:
        return []
    if not urls:
        raise UrlSourceError(field, f"{what} holds no URL")
    if len(urls) > MAX_URLS:
        raise UrlSourceError(field, f"{what} holds {len(urls)} URLs; at most {MAX_URLS}")
    bad = [str(i + 1) for i, url in enumerate(urls) if not URL_PATTERN.match(url)]
    if bad:
        raise UrlSourceError(
            field, f"{what}: URL number {', '.join(bad)} is not an apprise URL (scheme://…)"
        )
    return urls


def _channel_problems(
    bundle: ConfigBundle, known: Known, environ: Mapping[str, str] | None
) -> tuple[list[Problem], list[Problem]]:
    errors, warnings = [], []
    for item in bundle.channels:
        spec = item.spec
        if spec.url_env is None and spec.url_file is None:
            warnings.append(
                bundle.problem(
                    item,
                    ("name",),
                    "no url_env or url_file: the channel has no URLs, so messages to it fail",
                )
            )
            continue
        try:
            read_urls(spec, bundle.root, environ)
        except UrlSourceError as exc:
            errors.append(bundle.problem(item, (exc.field,), str(exc)))
            continue
        if not known.can_encrypt:
            field = "url_env" if spec.url_env is not None else "url_file"
            errors.append(bundle.problem(item, (field,), NO_KEY_MESSAGE))
    return errors, warnings


def problems(
    bundle: ConfigBundle, known: Known | None = None, environ: Mapping[str, str] | None = None
) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings of the four sections, across files (names defined twice are
    ``flows.configcode``'s check, as for every section)."""
    known = known or Known()
    errors, warnings = _channel_problems(bundle, known, environ)
    # A name defined but invalid is already reported where it is written.
    channels = {c.spec.name for c in bundle.channels} | known.channels
    channels |= bundle.invalid_names.get("channels", set())
    schedules = {s.spec.name for s in bundle.schedules} | known.schedules
    schedules |= bundle.invalid_names.get("schedules", set())
    for route in bundle.notification_routes:
        errors += [bundle.problem(route, e.loc, e.msg) for e in route_problems(route.spec)]
        for i, name in enumerate(route.spec.channels):
            if name not in channels:
                errors.append(bundle.problem(route, ("channels", i), f"no channel named {name!r}"))
    for policy in bundle.escalation_policies:
        for i, step in enumerate(policy.spec.steps):
            target, where = step.notify, ("steps", i, "notify")
            if target.schedule is not None and target.schedule not in schedules:
                message = f"no schedule named {target.schedule!r}"
                errors.append(bundle.problem(policy, (*where, "schedule"), message))
            if target.channel is not None and target.channel not in channels:
                message = f"no channel named {target.channel!r}"
                errors.append(bundle.problem(policy, (*where, "channel"), message))
            users = known.users
            if target.user is not None and users is not None and target.user not in users:
                message = f"no active user named {target.user!r}"
                errors.append(bundle.problem(policy, (*where, "user"), message))
    if known.users is not None:
        for schedule in bundle.schedules:
            for i, layer in enumerate(schedule.spec.layers):
                for j, user in enumerate(layer.users):
                    if user not in known.users:
                        warnings.append(
                            bundle.problem(
                                schedule,
                                ("layers", i, "users", j),
                                f"no active user named {user!r}: nobody is reached on this shift",
                            )
                        )
    return errors, warnings
