"""Domain errors: plain exceptions the service layer and entrypoints translate."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every orders domain error."""


class IllegalTransition(DomainError):
    """A state machine was asked for a move it does not allow."""

    def __init__(self, kind: str, current: str, wanted: str) -> None:
        super().__init__(f"{kind} cannot go from {current} to {wanted}")
        self.kind = kind
        self.current = current
        self.wanted = wanted


@dataclass(frozen=True)
class FieldError:
    """One rejected field: a dotted path into the order draft (``steps.1.after``) and why."""

    field: str
    message: str


class InvalidOrder(DomainError):
    """The draft breaks one or more rules; ``errors`` names every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
