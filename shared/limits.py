"""Resource limits every service shares (OWASP API4): request body size and per-firm rate limits.

* Body size: ``MAX_BODY_BYTES`` (2 MiB) for every route; a route may allow more, as the CSV
  import does. Too large → 413 problem+json. (FastAPI's own ``max_body_size`` answers 413 in
  plain text, so it is not used.)
* Rate: the ``limits`` package, one counter per caller under ``/v1``. The caller is the firm of a
  validly signed bearer token (``sub``); requests without one are counted per client address.
  Over the limit → 429 problem+json with ``Retry-After`` (seconds). ``RATE_LIMIT`` holds one or
  more limits such as ``1000/second;50000/minute`` (empty: off); ``RATE_LIMIT_STORAGE_URI`` is
  ``memory://`` (per process) or a shared store the ``limits`` package knows (``redis://…``).
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import InvalidToken, decode_token
from shared.problems import MEDIA_TYPE, TYPE_BASE
from shared.settings import ServiceSettings

LIMITED_PREFIX = "/v1/"  # health, metrics and docs are never rate limited
BODY_LIMIT_KEY = "x-max-body-bytes"  # a route's own body limit, in its openapi_extra


def parse_rate_limit(value: str) -> list[RateLimitItem]:
    """``'1000/second;50000/minute'`` → limit items; ``''`` → none (raises ValueError if bad)."""
    return parse_many(value) if value.strip() else []


SWEEP_INTERVAL_S = 1.0  # expired in-process counters are dropped this often


class SweptMemoryStorage(MemoryStorage):
    """``limits``' in-process storage, its expired counters dropped at most once a second, on
    a hit, in the caller's thread.

    ``MemoryStorage`` drops them 10 ms after a hit in a new ``threading.Timer`` thread, so from
    about 100 requests a second on it starts a thread every 10 ms: ~0.3 ms of CPU each on our
    machines, about 3 % of a core for nothing (measured at 100 hits a second: 415–467 µs of
    CPU per request with it, 158–172 with this one, 50–83 with no limiter). A counter past its
    expiry is ignored when read either way; the sweep only frees memory, and sweeping 10,000
    counters (5,000 firms) takes about 1 ms."""

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        super().__init__(uri, **options)
        self.timer.cancel()  # the parent's first timer; no other is started
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL_S
        self.sweeps = 0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the parent calls it on every hit
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL_S
            self.sweeps += 1
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def rate_limit_storage(uri: str) -> Storage:
    """The ``limits`` storage a ``RATE_LIMIT_STORAGE_URI`` names (``memory://``: swept)."""
    if uri.partition("://")[0] == "memory":
        return SweptMemoryStorage(uri)
    return storage_from_string(uri)


class RateLimiter:
    """Counts a caller's requests against every configured limit (a sliding window each)."""

    def __init__(self, items: list[RateLimitItem], storage_uri: str = "memory://") -> None:
        self.items = items
        self._limiter = SlidingWindowCounterRateLimiter(rate_limit_storage(storage_uri))

    def hit(self, key: str) -> float | None:
        """Counts one request of ``key``: None if allowed, else seconds until it may retry."""
        for item in self.items:
            if not self._limiter.hit(item, key):
                reset_at = self._limiter.get_window_stats(item, key).reset_time
                return max(1.0, reset_at - time.time())
        return None


class RateLimitMiddleware:
    """ASGI middleware: 429 problem+json with Retry-After once a caller is over its limit."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, jwt_secret: str) -> None:
        self.app = app
        self.limiter = limiter
        self.jwt_secret = jwt_secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIX):
            await self.app(scope, receive, send)
            return
        retry_after = self.limiter.hit(self.caller(scope))
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        await _too_many_requests(scope, send, retry_after)

    def caller(self, scope: Scope) -> str:
        """``firm:<sub>`` of a valid token, else ``ip:<client address>`` (forged subs don't
        count: a token must verify to pick its counter)."""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    try:
                        return "firm:" + decode_token(self.jwt_secret, token.strip()).firm_id
                    except InvalidToken:
                        break
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")


class BodyLimitMiddleware:
    """ASGI middleware: a request body over its route's limit → 413 problem+json.

    A request announcing too large a body (Content-Length) is refused before anything reads it;
    a body without one is counted as it is read. A route allows more than ``default`` with
    ``openapi_extra={BODY_LIMIT_KEY: bytes}`` (which its OpenAPI operation then shows)."""

    def __init__(self, app: ASGIApp, *, default: int, fastapi_app: FastAPI) -> None:
        self.app = app
        self.default = default
        self.fastapi_app = fastapi_app
        self._route_limits: list[tuple[str, re.Pattern[str], int]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.default and length > self.limit(scope):
            await _problem(scope, send, 413, "Content too large", self._detail(scope))
            return
        total = 0

        async def counting_receive() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.default and total > self.limit(scope):
                    raise HTTPException(413, self._detail(scope))
            return message

        await self.app(scope, counting_receive, send)

    def limit(self, scope: Scope) -> int:
        """The body limit of the route ``scope`` goes to (its own, or the default)."""
        if self._route_limits is None:
            self._route_limits = _route_limits(self.fastapi_app.openapi())
        for method, path, limit in self._route_limits:
            if method == scope["method"] and path.fullmatch(scope["path"]):
                return limit
        return self.default

    def _detail(self, scope: Scope) -> str:
        return f"the request body is larger than {self.limit(scope)} bytes"


def _route_limits(openapi: dict[str, Any]) -> list[tuple[str, re.Pattern[str], int]]:
    """(method, path pattern, limit) of each operation whose OpenAPI entry names a limit."""
    found = []
    for path, operations in openapi.get("paths", {}).items():
        pattern = re.compile("[^/]+".join(re.escape(p) for p in re.split(r"{[^}]+}", path)))
        for method, operation in operations.items():
            if isinstance(operation, dict) and BODY_LIMIT_KEY in operation:
                found.append((method.upper(), pattern, int(operation[BODY_LIMIT_KEY])))
    return found


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_many_requests(scope: Scope, send: Send, retry_after: float) -> None:
    seconds = math.ceil(retry_after)
    await _problem(scope, send, 429, "Too many requests",
                   f"rate limit reached for this firm; retry in {seconds} s",
                   headers=[(b"retry-after", str(seconds).encode())])


async def _problem(scope: Scope, send: Send, status: int, title: str, detail: str, *,
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"type": TYPE_BASE + title.lower().replace(" ", "-"), "title": title,
                       "status": status, "detail": detail, "instance": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def install_limits(app: FastAPI, settings: ServiceSettings) -> None:
    """Body size default and rate limiting, as ``settings`` say."""
    items = parse_rate_limit(settings.rate_limit)
    if items:
        limiter = RateLimiter(items, settings.rate_limit_storage_uri)
        app.state.rate_limiter = limiter
        app.add_middleware(RateLimitMiddleware, limiter=limiter, jwt_secret=settings.jwt_secret)
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes, fastapi_app=app)
