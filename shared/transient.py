"""Which failures are transient: the database is unreachable or busy for a while.

A transient failure says nothing about the request or the event: the API answers 503 with
``Retry-After`` and the consumer tries the same event again later, without limit. Everything
else (a handler's error, a constraint, a bad payload) is the message's fault: 4xx/5xx for a
request, the dead-letter topic for an event.
"""

from __future__ import annotations

import sqlalchemy.exc as sa_exc

RETRY_AFTER_S = 5

# SQLite raises OperationalError for programming errors too ("no such table"); only these
# messages mean "the file is busy or out of reach for now".
_SQLITE_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)


def is_transient_db_error(exc: BaseException) -> bool:
    """True if ``exc`` (or an exception it was raised from) is a passing database outage."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # the pool found no live connection in time
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            module = type(exc.orig).__module__ if exc.orig is not None else ""
            if module.startswith("sqlite3"):
                return any(m in str(exc.orig).lower() for m in _SQLITE_TRANSIENT)
            return True  # PostgreSQL: connection refused or lost, server shutting down …
    return False
