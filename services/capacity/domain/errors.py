"""Domain errors: plain exceptions the entrypoints translate into problem documents."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every rule a request or an event can break."""


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does (HTTP 404)."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id} not found")
        self.kind = kind
        self.object_id = object_id


class Forbidden(DomainError):
    """The caller's role may not do this (HTTP 403)."""


class InvalidInput(DomainError):
    """A value breaks a rule; ``field`` names it (HTTP 422).

    ``source`` says which part of the request carried the value: ``body`` or ``query``.
    """

    def __init__(self, field: str, message: str, *, source: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.source = source


@dataclass(frozen=True)
class RowError:
    """One problem of an uploaded file: its 1-based data row (None: the file as a whole)."""

    row: int | None
    field: str
    message: str


class ImportRejected(DomainError):
    """An upload with at least one bad row; nothing of it is stored (HTTP 422)."""

    def __init__(self, errors: list[RowError]) -> None:
        rows = sorted({e.row for e in errors if e.row is not None})
        shown = ", ".join(map(str, rows[:20])) + (" …" if len(rows) > 20 else "")
        super().__init__(f"{len(rows)} bad rows: {shown}; nothing was imported" if rows
                         else f"{errors[0].field}: {errors[0].message}; nothing was imported")
        self.errors = errors


class Conflict(DomainError):
    """The request clashes with the current state (HTTP 409)."""


class DuplicateId(Conflict):
    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id} already exists")


class WindowOverlap(Conflict):
    pass


class IllegalTransition(Conflict):
    pass


class HoldExpired(Conflict):
    pass


class WorkOutOfOrder(Conflict):
    """Work reported on a step before the steps it comes after are completed."""


class CapacityExceeded(Conflict):
    pass


class WindowInUse(Conflict):
    """The window has held or accepted hours, so it cannot be closed."""


class BelowReserved(Conflict):
    """The window would offer fewer hours than are held and accepted on it."""
