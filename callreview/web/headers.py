"""Security headers on every response: no framing, no inline script, no caching of evidence.

`SecurityHeaders` adds them to everything the app answers; the server-error page is sent by Starlette's
outermost middleware, past this one, so `errors.py` adds them there with `apply_security_headers`.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles come only from /static, so an injected <script> in a transcript cannot run even
# if escaping ever failed.
_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Search URLs carry the words searched for; never send them to another site.
    "Referrer-Policy": "no-referrer",
}


def apply_security_headers(headers: MutableHeaders, path: str) -> None:
    """Set the security headers (and no-store outside /static) unless a response set its own."""
    for key, value in _HEADERS.items():
        headers.setdefault(key, value)
    # Pages and recordings stay off shared machines' disk caches; CSS and JS may be cached.
    if not path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"


class SecurityHeaders:
    """Pure ASGI middleware (streams untouched, which audio range responses need)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply_security_headers(MutableHeaders(scope=message), scope["path"])
            await send(message)

        await self.app(scope, receive, send_with_headers)
