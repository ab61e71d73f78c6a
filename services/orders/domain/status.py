"""The order and step state machines, and how an order's status follows from its steps."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from services.orders.domain.errors import IllegalTransition


class StepStatus(StrEnum):
    PENDING = "pending"
    PROPOSED = "proposed"
    HELD = "held"
    ACCEPTED = "accepted"
    UNPLACED = "unplaced"
    IN_PRODUCTION = "in_production"  # the supplier began the work of the accepted hours
    COMPLETED = "completed"  # the supplier finished it
    CANCELLED = "cancelled"  # only with its order


# Steps with accepted hours: the supplier named, the hours no longer re-planned.
COMMITTED = frozenset({StepStatus.ACCEPTED, StepStatus.IN_PRODUCTION, StepStatus.COMPLETED})
# Steps whose work began: their order can no longer be cancelled or revised.
STARTED = frozenset({StepStatus.IN_PRODUCTION, StepStatus.COMPLETED})


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    MATCHING = "matching"
    PARTIALLY_ALLOCATED = "partially_allocated"
    ALLOCATED = "allocated"
    IN_PRODUCTION = "in_production"
    COMPLETED = "completed"
    UNPLACED = "unplaced"
    CANCELLED = "cancelled"


_STEP_CANCELLED = StepStatus.CANCELLED
STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    StepStatus.PENDING: frozenset({StepStatus.PROPOSED, StepStatus.UNPLACED, _STEP_CANCELLED}),
    StepStatus.PROPOSED: frozenset({StepStatus.HELD, StepStatus.UNPLACED, StepStatus.PENDING,
                                    _STEP_CANCELLED}),
    StepStatus.HELD: frozenset({StepStatus.ACCEPTED, StepStatus.PENDING, _STEP_CANCELLED}),
    # cancelled: capacity releases the acceptance; completed: done without a reported start
    StepStatus.ACCEPTED: frozenset({StepStatus.IN_PRODUCTION, StepStatus.COMPLETED,
                                    _STEP_CANCELLED}),
    StepStatus.UNPLACED: frozenset({StepStatus.PROPOSED, _STEP_CANCELLED}),
    StepStatus.IN_PRODUCTION: frozenset({StepStatus.COMPLETED}),
    StepStatus.COMPLETED: frozenset(),
    StepStatus.CANCELLED: frozenset(),
}

# Forward jumps are allowed because the status is derived from the steps after each event: a
# one-step order goes from matching straight to allocated when its only step is accepted.
_SUBMITTED, _MATCHING = OrderStatus.SUBMITTED, OrderStatus.MATCHING
_PARTIAL, _ALLOCATED = OrderStatus.PARTIALLY_ALLOCATED, OrderStatus.ALLOCATED
_UNPLACED, _CANCELLED = OrderStatus.UNPLACED, OrderStatus.CANCELLED
_PRODUCTION, _COMPLETED = OrderStatus.IN_PRODUCTION, OrderStatus.COMPLETED

ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _SUBMITTED: frozenset({_MATCHING, _PARTIAL, _ALLOCATED, _UNPLACED, _CANCELLED}),
    _MATCHING: frozenset({_PARTIAL, _ALLOCATED, _UNPLACED, _CANCELLED}),
    # partially allocated → in production: the last step accepted after another one started
    _PARTIAL: frozenset({_ALLOCATED, _PRODUCTION, _UNPLACED, _CANCELLED}),
    _ALLOCATED: frozenset({_PRODUCTION, _COMPLETED, _CANCELLED}),
    # unplaced → in production: the unplaced step accepted at last, while another one started
    _UNPLACED: frozenset({_MATCHING, _PARTIAL, _ALLOCATED, _PRODUCTION, _CANCELLED}),
    _PRODUCTION: frozenset({_COMPLETED}),
    _COMPLETED: frozenset(),
    _CANCELLED: frozenset(),
}

# Statuses a buyer may cancel (or revise) from: until production starts (Order.cancel also
# refuses once any step started, which an unplaced or partially allocated order may hold).
CANCELLABLE_STATUSES = frozenset({_SUBMITTED, _MATCHING, _PARTIAL, _ALLOCATED, _UNPLACED})
# Statuses in which incoming matching and reservation events (the suppliers' reports of their
# work included) still change the order.
ACTIVE_STATUSES = CANCELLABLE_STATUSES | {_PRODUCTION}


def check_step_move(current: StepStatus, wanted: StepStatus) -> None:
    if wanted not in STEP_TRANSITIONS[current]:
        raise IllegalTransition("step", current, wanted)


def check_order_move(current: OrderStatus, wanted: OrderStatus) -> None:
    if wanted not in ORDER_TRANSITIONS[current]:
        raise IllegalTransition("order", current, wanted)


def derive_status(steps: Iterable[StepStatus], current: OrderStatus) -> OrderStatus:
    """The order status its step statuses imply; orders are atomic, so one unplaced step wins.
    An order is in production once every step has accepted hours and one of them started, and
    completed when every step is."""
    if current not in ACTIVE_STATUSES:
        return current
    statuses = list(steps)
    if StepStatus.UNPLACED in statuses:
        return OrderStatus.UNPLACED
    committed = sum(status in COMMITTED for status in statuses)
    if statuses and committed == len(statuses):
        if statuses.count(StepStatus.COMPLETED) == len(statuses):
            return OrderStatus.COMPLETED
        if any(status in STARTED for status in statuses):
            return OrderStatus.IN_PRODUCTION
        return OrderStatus.ALLOCATED
    if committed:
        return OrderStatus.PARTIALLY_ALLOCATED
    if StepStatus.PROPOSED in statuses or StepStatus.HELD in statuses:
        return OrderStatus.MATCHING
    # Every step pending: still waiting for its first plan, or back to the matcher after a
    # rejected or declined reservation (an order does not return to "submitted").
    return OrderStatus.SUBMITTED if current is OrderStatus.SUBMITTED else OrderStatus.MATCHING
