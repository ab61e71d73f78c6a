"""Domain errors: plain exceptions the entrypoints translate into problem documents."""

from __future__ import annotations


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
    """A value breaks a rule; ``field`` names it (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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


class CapacityExceeded(Conflict):
    pass
