"""Run a request again when its unit of work hit a transient database conflict.

Each request is one unit of work: its reads, its writes and its audit event commit together or not at
all. When that transaction fails in a way that can succeed on a second try (`storage.transactions.
is_transient`: SQLite's write lock still busy after the busy timeout, a PostgreSQL deadlock, an audit
append that lost a race), the whole request is handed to the app again, with the body read the first
time, up to ATTEMPTS times. Only while nothing has been sent: once the response has started, the error
goes on to the 500 page as before.
"""
from __future__ import annotations

import asyncio
import logging
import random

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callreview.storage.transactions import is_transient

logger = logging.getLogger(__name__)

ATTEMPTS = 3
# Forms here are a few kilobytes; a larger body is passed through once, not buffered for a replay.
MAX_REPLAY_BODY = 1 << 20


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _transient(exc.exceptions[0])
    return is_transient(exc)


class RetryTransient:
    """Pure ASGI middleware (like SecurityHeaders): responses stream through untouched."""

    def __init__(self, app: ASGIApp, attempts: int = ATTEMPTS):
        self.app, self.attempts = app, attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        attempts = self.attempts if complete else 1
        for attempt in range(1, attempts + 1):
            started = False

            async def send_once(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                # A fresh copy of the scope's state: a failed attempt must not leak into the next one.
                await self.app({**scope, "state": dict(scope.get("state") or {})}, _replay(body, receive), send_once)
                return
            except Exception as exc:
                if started or attempt == attempts or not _transient(exc):
                    raise
                logger.warning("%s %s: transient database conflict (%s), attempt %d of %d; running it again",
                               scope.get("method"), scope.get("path"), exc.__class__.__name__, attempt, attempts)
                await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)


async def _read_body(receive: Receive) -> tuple[list[Message], bool]:
    """The request's body messages, and whether they are all of it (False past MAX_REPLAY_BODY)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, True
        if size > MAX_REPLAY_BODY:
            return messages, False


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out the buffered messages, then the connection's own (e.g. a disconnect)."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
