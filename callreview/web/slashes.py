"""Trailing-slash redirects (`/queue/` -> `/queue`) that name a path on this site, never a host.

Starlette's own slash redirect builds an absolute URL from the request's Host header, which a client
chooses: `Host: evil.example` turned `/queue/` into a redirect to `http://evil.example/queue` (an open
redirect, and a poisoned answer for any cache in front of the app). This one answers with a relative
`Location`, so the browser stays on the site it asked.
"""
from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import Receive, Scope, Send


def _slash_twin(router: Router, scope: Scope) -> str | None:
    """The same path with the trailing slash toggled, if a route serves it; None otherwise."""
    path = scope["path"]
    if path == "/":
        return None
    twin = path.rstrip("/") if path.endswith("/") else path + "/"
    # "//host" or "/\host" in a Location header is read as another site, whatever routes exist.
    if not twin.startswith("/") or twin.startswith(("//", "/\\")):
        return None
    twin_scope = {**scope, "path": twin}
    if not any(route.matches(twin_scope)[0] is not Match.NONE for route in router.routes):
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    return quote(twin) + (f"?{query}" if query else "")


def install_slash_redirects(app: FastAPI) -> None:
    """Replace Starlette's host-echoing slash redirect with a relative one (unknown paths stay 404)."""
    router = app.router
    router.redirect_slashes = False

    async def redirect_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        target = _slash_twin(router, scope) if scope["type"] == "http" else None
        if target is None:
            await router.not_found(scope, receive, send)
            return
        await RedirectResponse(target, status_code=307)(scope, receive, send)

    router.default = redirect_or_not_found
