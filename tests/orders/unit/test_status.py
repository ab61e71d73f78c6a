"""The order and step state machines and the derivation of an order's status."""

from __future__ import annotations

import itertools

import pytest

from services.orders.domain.errors import IllegalTransition
from services.orders.domain.status import (
    COMMITTED,
    ORDER_TRANSITIONS,
    STARTED,
    STEP_TRANSITIONS,
    OrderStatus,
    StepStatus,
    check_order_move,
    check_step_move,
    derive_status,
)

S, Ord = StepStatus, OrderStatus

LEGAL_STEP_MOVES = {
    (S.PENDING, S.PROPOSED), (S.PENDING, S.UNPLACED),
    (S.PROPOSED, S.HELD), (S.PROPOSED, S.UNPLACED), (S.PROPOSED, S.PENDING),
    (S.HELD, S.ACCEPTED), (S.HELD, S.PENDING),
    (S.UNPLACED, S.PROPOSED),
    # with the order, until production starts (accepted ones are released by capacity)
    (S.PENDING, S.CANCELLED), (S.PROPOSED, S.CANCELLED), (S.HELD, S.CANCELLED),
    (S.ACCEPTED, S.CANCELLED), (S.UNPLACED, S.CANCELLED),
    # the supplier's reports of its work (completed without a reported start, too)
    (S.ACCEPTED, S.IN_PRODUCTION), (S.ACCEPTED, S.COMPLETED), (S.IN_PRODUCTION, S.COMPLETED),
}


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(S, S)))
def test_step_moves(current: StepStatus, wanted: StepStatus) -> None:
    if (current, wanted) in LEGAL_STEP_MOVES:
        check_step_move(current, wanted)
    else:
        with pytest.raises(IllegalTransition):
            check_step_move(current, wanted)


def test_the_step_table_is_the_documented_one() -> None:
    assert {(a, b) for a, bs in STEP_TRANSITIONS.items() for b in bs} == LEGAL_STEP_MOVES


@pytest.mark.parametrize("current", [Ord.SUBMITTED, Ord.MATCHING, Ord.PARTIALLY_ALLOCATED,
                                     Ord.ALLOCATED, Ord.UNPLACED])
def test_orders_can_be_cancelled_before_production(current: OrderStatus) -> None:
    check_order_move(current, Ord.CANCELLED)


@pytest.mark.parametrize("current", [Ord.IN_PRODUCTION, Ord.COMPLETED, Ord.CANCELLED])
def test_orders_cannot_be_cancelled_from_production_on(current: OrderStatus) -> None:
    with pytest.raises(IllegalTransition, match="cannot go from"):
        check_order_move(current, Ord.CANCELLED)


@pytest.mark.parametrize(("current", "wanted"), [
    (Ord.MATCHING, Ord.SUBMITTED), (Ord.ALLOCATED, Ord.MATCHING), (Ord.ALLOCATED, Ord.UNPLACED),
    (Ord.PARTIALLY_ALLOCATED, Ord.MATCHING), (Ord.SUBMITTED, Ord.IN_PRODUCTION),
    (Ord.COMPLETED, Ord.IN_PRODUCTION), (Ord.CANCELLED, Ord.MATCHING),
    (Ord.IN_PRODUCTION, Ord.ALLOCATED),
])
def test_illegal_order_moves(current: OrderStatus, wanted: OrderStatus) -> None:
    assert wanted not in ORDER_TRANSITIONS[current]
    with pytest.raises(IllegalTransition):
        check_order_move(current, wanted)


def test_the_happy_path_is_legal() -> None:
    path = [Ord.SUBMITTED, Ord.MATCHING, Ord.PARTIALLY_ALLOCATED, Ord.ALLOCATED, Ord.IN_PRODUCTION,
            Ord.COMPLETED]
    for current, wanted in itertools.pairwise(path):
        check_order_move(current, wanted)
    check_order_move(Ord.UNPLACED, Ord.MATCHING)  # re-entered when the matcher proposes later


@pytest.mark.parametrize(("steps", "current", "derived"), [
    ([S.PENDING, S.PENDING], Ord.SUBMITTED, Ord.SUBMITTED),
    ([S.PROPOSED, S.PENDING], Ord.SUBMITTED, Ord.MATCHING),
    ([S.HELD, S.PROPOSED], Ord.MATCHING, Ord.MATCHING),
    ([S.PENDING, S.PENDING], Ord.MATCHING, Ord.MATCHING),  # after a rejection: re-planned
    ([S.ACCEPTED, S.HELD], Ord.MATCHING, Ord.PARTIALLY_ALLOCATED),
    ([S.ACCEPTED, S.PENDING], Ord.PARTIALLY_ALLOCATED, Ord.PARTIALLY_ALLOCATED),
    ([S.ACCEPTED, S.ACCEPTED], Ord.PARTIALLY_ALLOCATED, Ord.ALLOCATED),
    ([S.ACCEPTED], Ord.MATCHING, Ord.ALLOCATED),
    ([S.UNPLACED, S.PROPOSED], Ord.MATCHING, Ord.UNPLACED),
    ([S.UNPLACED, S.ACCEPTED], Ord.PARTIALLY_ALLOCATED, Ord.UNPLACED),
    ([S.PROPOSED, S.PENDING], Ord.UNPLACED, Ord.MATCHING),
    ([S.PROPOSED], Ord.CANCELLED, Ord.CANCELLED),
    ([S.ACCEPTED], Ord.COMPLETED, Ord.COMPLETED),
    # production: once every step has accepted hours and one started; done when all are
    ([S.IN_PRODUCTION], Ord.ALLOCATED, Ord.IN_PRODUCTION),
    ([S.COMPLETED], Ord.ALLOCATED, Ord.COMPLETED),
    ([S.IN_PRODUCTION, S.HELD], Ord.PARTIALLY_ALLOCATED, Ord.PARTIALLY_ALLOCATED),
    ([S.IN_PRODUCTION, S.ACCEPTED], Ord.PARTIALLY_ALLOCATED, Ord.IN_PRODUCTION),
    ([S.COMPLETED, S.ACCEPTED], Ord.IN_PRODUCTION, Ord.IN_PRODUCTION),
    ([S.COMPLETED, S.IN_PRODUCTION], Ord.IN_PRODUCTION, Ord.IN_PRODUCTION),
    ([S.COMPLETED, S.COMPLETED], Ord.IN_PRODUCTION, Ord.COMPLETED),
    ([S.UNPLACED, S.IN_PRODUCTION], Ord.PARTIALLY_ALLOCATED, Ord.UNPLACED),
    ([S.ACCEPTED, S.IN_PRODUCTION], Ord.UNPLACED, Ord.IN_PRODUCTION),
])
def test_derive_status(steps, current, derived) -> None:  # type: ignore[no-untyped-def]
    assert derive_status(steps, current) is derived


def _reachable(current: OrderStatus, steps: tuple[StepStatus, ...]) -> bool:
    """The step statuses one event can leave under an order status (it changes one step, or
    proposes several), so some pairs cannot occur."""
    if (S.CANCELLED in steps) != (current is Ord.CANCELLED):
        return False
    committed = [s in COMMITTED for s in steps]
    started = any(s in STARTED for s in steps)
    if current in (Ord.SUBMITTED, Ord.MATCHING):  # no step had accepted hours before
        return sum(committed) <= 1 and not started
    if current is Ord.PARTIALLY_ALLOCATED:  # a step without accepted hours is accepted at most
        return any(committed) and not all(s in STARTED for s in steps)
    if current is Ord.ALLOCATED:  # every step accepted, none started before
        return all(committed) and sum(s in STARTED for s in steps) <= 1
    if current is Ord.IN_PRODUCTION:
        return all(committed) and started
    if current is Ord.UNPLACED:  # the unplaced step is at most accepted now
        return not all(s is S.COMPLETED for s in steps)
    return True


def test_every_derivable_status_is_a_legal_move() -> None:
    checked = 0
    for current in Ord:
        for n in (1, 2, 3):
            for steps in itertools.product(S, repeat=n):
                derived = derive_status(steps, current)
                if derived is not current and _reachable(current, steps):
                    check_order_move(current, derived)
                    checked += 1
    assert checked > 100
