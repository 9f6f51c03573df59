"""Server-rendered pages: the web UI, an edge beside the JSON API.

Pages call the same services and flows as the API, with sessions from ``AppState``, and reuse
the API's plumbing (``api.access``, ``api.deps``, ``api.auth``) for login sessions, CSRF and
permission checks, never its routes. Every asset is in this package (``templates/``,
``static/``): nothing is loaded from elsewhere, so the UI works air-gapped.
"""
