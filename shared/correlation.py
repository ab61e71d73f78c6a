"""Correlation ids: every log line of a request carries ``X-Correlation-ID`` (the caller's, or
a new one), and the answer names it.

A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
``BaseHTTPMiddleware`` runs the rest of the app in a task group with memory streams, which cost
more than the whole of a small request (measured with ``make bench``)."""

from __future__ import annotations

import random

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import correlation_id

CORRELATION_HEADER = "X-Correlation-ID"
_HEADER_KEY = CORRELATION_HEADER.lower().encode("latin-1")


def new_correlation_id() -> str:
    """32 hex digits. Not uuid4: its os.urandom call lets go of the GIL on the event loop's
    thread, which then waits for the busy consumer thread (measured: 7 % of the orders
    service's samples under load). A correlation id only has to be unique, not secret."""
    return f"{random.getrandbits(128):032x}"


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                      if k == _HEADER_KEY and v), None) or new_correlation_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = value
            await send(message)

        token = correlation_id.set(value)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)
