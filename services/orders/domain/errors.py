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


class NotCancellable(IllegalTransition):
    """The order is past the point where a buyer may cancel it (production started, or done)."""

    ACTION = "cancelled"

    def __init__(self, order_id: str, status: str, *, started: list[str] | None = None) -> None:
        super().__init__("order", status, "cancelled")
        why = (f"order {order_id}: production of step {', '.join(started)} has started"
               if started
               else f"order {order_id} is {status}")
        self.args = (f"{why}; orders can be {self.ACTION} only until production starts",)


class NotRevisable(NotCancellable):
    """A revision cancels the order, so it is possible only as long as cancelling is."""

    ACTION = "revised"


class NothingToRevise(DomainError):
    """The revision changes no term of the order."""


@dataclass(frozen=True)
class FieldError:
    """One rejected field: a dotted path into the order draft (``steps.1.after``) and why."""

    field: str
    message: str
    type: str = "value_error"  # the kind of error, as the API reports it


class InvalidOrder(DomainError):
    """The draft breaks one or more rules; ``errors`` names every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
