"""The Order aggregate applying matching and reservation events, and the buyer's view."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.orders.domain.errors import IllegalTransition, NotCancellable
from services.orders.domain.model import Order, Placement, PublicAllocation
from services.orders.domain.status import StepStatus
from tests.orders.unit.fakes import NOW, step, terms

LATER = NOW + timedelta(minutes=5)


def new_order(*steps) -> Order:  # type: ignore[no-untyped-def]
    return Order.submit(terms(*steps), buyer_firm_id="b1", buyer_clusters=("qhd-auto",),
                        cluster_known=True, now=NOW)


def at(order: Order, i: int, window: str = "w1", **extra) -> Placement:  # type: ignore[no-untyped-def]
    return Placement(order.steps[i].id, window, "f1", hours=6.0, price=1080.0, **extra)


def accepted(order: Order, i: int, window: str = "w1") -> Placement:
    return at(order, i, window, factory_name="Haigang Precision", reservation_id="r1")


def test_propose_hold_accept_allocates_a_one_step_order() -> None:
    order = new_order()
    order.propose([at(order, 0)], now=LATER)
    assert (order.status, order.steps[0].status) == ("matching", "proposed")
    assert order.updated_at == LATER
    order.hold(at(order, 0), now=LATER)
    assert (order.status, order.steps[0].status) == ("matching", "held")
    outcome = order.accept(accepted(order, 0), now=LATER)
    assert outcome.changed == [order.steps[0].id] and not outcome.ignored
    assert (order.status, order.steps[0].status) == ("allocated", "accepted")


def test_some_steps_accepted_is_partially_allocated() -> None:
    order = new_order(step("a"), step("b", "a"))
    order.propose([at(order, 0), at(order, 1, "w2")], now=LATER)
    order.accept(accepted(order, 0), now=LATER)
    assert order.status == "partially_allocated"
    order.accept(accepted(order, 1, "w2"), now=LATER)
    assert order.status == "allocated"


def test_the_buyer_sees_price_but_no_factory_before_acceptance() -> None:
    order = new_order()
    assert order.steps[0].public_allocation() is None
    order.propose([at(order, 0)], now=LATER)
    hidden = PublicAllocation(None, None, None, hours=6.0, price=1080.0)
    assert order.steps[0].public_allocation() == hidden
    order.hold(at(order, 0, reservation_id="r1"), now=LATER)
    assert order.steps[0].public_allocation() == hidden
    order.accept(accepted(order, 0), now=LATER)
    assert order.steps[0].public_allocation() == PublicAllocation(
        "f1", "Haigang Precision", "w1", hours=6.0, price=1080.0)


def test_rejection_puts_the_step_back_to_pending_and_the_order_stays_matching() -> None:
    order = new_order()
    order.propose([at(order, 0)], now=LATER)
    order.release(order.steps[0].id, window_id="w1", now=LATER)
    assert (order.status, order.steps[0].status) == ("matching", "pending")
    assert order.steps[0].public_allocation() is None


def test_a_decline_of_a_held_step_returns_it_to_pending() -> None:
    order = new_order(step("a"), step("b"))
    order.propose([at(order, 0), at(order, 1, "w2")], now=LATER)
    order.accept(accepted(order, 0), now=LATER)
    order.hold(at(order, 1, "w2"), now=LATER)
    order.release(order.steps[1].id, window_id="w2", now=LATER)
    assert [s.status for s in order.steps] == ["accepted", "pending"]
    assert order.status == "partially_allocated"


def test_a_refusal_never_undoes_a_hold_or_an_acceptance() -> None:
    order = new_order(step("a"), step("b"))
    order.propose([at(order, 0), at(order, 1, "w2")], now=LATER)
    order.hold(at(order, 0), now=LATER)
    order.accept(accepted(order, 1, "w2"), now=LATER)
    for i, window in ((0, "w1"), (1, "w2")):
        outcome = order.reject(order.steps[i].id, window_id=window, now=LATER)
        assert outcome.changed == [] and "another proposal" in outcome.ignored[order.steps[i].id]
    assert [s.status for s in order.steps] == ["held", "accepted"]
    proposed = new_order()
    proposed.propose([at(proposed, 0)], now=LATER)
    assert proposed.reject(proposed.steps[0].id, window_id="w1", now=LATER).changed
    assert proposed.steps[0].status == "pending"


def test_a_release_for_another_window_is_stale() -> None:
    order = new_order()
    order.propose([at(order, 0, "w2")], now=LATER)
    outcome = order.release(order.steps[0].id, window_id="w1", now=LATER)
    assert outcome.changed == [] and "another window" in outcome.ignored[order.steps[0].id]
    assert order.steps[0].status == "proposed"


def test_unplaced_step_makes_the_order_unplaced_and_a_later_proposal_re_enters() -> None:
    order = new_order(step("a"), step("b"))
    order.unplace(order.steps[0].id, reason="capacity_taken", detail="3 steps", now=LATER)
    assert order.status == "unplaced"
    assert (order.steps[0].unplaced_reason, order.steps[0].unplaced_detail) == (
        "capacity_taken", "3 steps")
    order.propose([at(order, 0), at(order, 1)], now=LATER)
    assert order.status == "matching" and order.steps[0].unplaced_reason is None


def test_events_arriving_before_the_proposal_catch_up() -> None:
    order = new_order()
    order.hold(at(order, 0), now=LATER)  # reservation.held read before allocation.proposed
    assert order.steps[0].status == "held"
    late = order.propose([at(order, 0)], now=LATER)
    assert late.changed == [] and "already held" in late.ignored[order.steps[0].id]
    fresh = new_order()
    fresh.accept(accepted(fresh, 0), now=LATER)
    assert (fresh.status, fresh.steps[0].status) == ("allocated", "accepted")


def test_repeats_and_stale_events_change_nothing() -> None:
    order = new_order()
    order.accept(accepted(order, 0), now=LATER)
    for outcome in (
        order.accept(accepted(order, 0), now=NOW),
        order.hold(at(order, 0), now=NOW),
        order.release(order.steps[0].id, window_id="w1", now=NOW),
        order.unplace(order.steps[0].id, reason="capacity_taken", detail="", now=NOW),
    ):
        assert outcome.changed == [] and outcome.ignored
    assert (order.status, order.steps[0].status, order.updated_at) == (
        "allocated", "accepted", LATER)


def test_unknown_steps_are_ignored_and_known_ones_applied() -> None:
    order = new_order()
    ghost = Placement("stp_ghost", "w9", "f9", hours=1.0, price=1.0)
    outcome = order.propose([ghost, at(order, 0)], now=LATER)
    assert outcome.changed == [order.steps[0].id]
    assert outcome.ignored == {"stp_ghost": "no such step in this order"}


def test_a_cancelled_order_ignores_events() -> None:
    order = new_order()
    order.cancel(now=LATER)
    outcome = order.propose([at(order, 0)], now=LATER)
    assert outcome.ignored == {order.steps[0].id: "order is cancelled"}
    assert order.steps[0].status == "cancelled" and order.status == "cancelled"


@pytest.mark.parametrize("reach", ["submitted", "matching", "partially_allocated", "allocated",
                                   "unplaced"])
def test_cancel_until_production_cancels_every_step(reach: str) -> None:
    order = new_order(step("a"), step("b", "a"))
    a, b = order.steps
    if reach != "submitted":
        order.propose([at(order, 0), at(order, 1, "w2")], now=NOW)
    if reach in ("partially_allocated", "allocated"):
        order.accept(accepted(order, 0), now=NOW)
    if reach == "allocated":
        order.accept(accepted(order, 1, "w2"), now=NOW)
    if reach == "unplaced":
        order.unplace(b.id, reason="capacity_taken", detail="", now=NOW)
    assert order.status == reach
    order.cancel(now=LATER)
    assert (order.status, order.updated_at) == ("cancelled", LATER)
    assert [s.status for s in order.steps] == ["cancelled", "cancelled"]
    assert [s.public_allocation() for s in order.steps] == [None, None]


@pytest.mark.parametrize("prepare", ["in_production", "completed", "cancelled"])
def test_cancel_after_production_started_or_twice_is_refused(prepare: str) -> None:
    order = new_order()
    order.accept(accepted(order, 0), now=NOW)
    if prepare == "cancelled":
        order.cancel(now=NOW)
    else:
        order.start(order.steps[0].id, window_id="w1", at=NOW, now=NOW)
        if prepare == "completed":
            order.complete(order.steps[0].id, window_id="w1", started_at=NOW, at=NOW, now=NOW)
    assert order.status == prepare
    before = (order.status, order.steps[0].status, order.updated_at)
    with pytest.raises(NotCancellable, match="only until production starts"):
        order.cancel(now=LATER)
    assert (order.status, order.steps[0].status, order.updated_at) == before


def test_a_one_step_order_goes_into_production_and_is_completed() -> None:
    order = new_order()
    order.accept(accepted(order, 0), now=NOW)
    outcome = order.start(order.steps[0].id, window_id="w1", at=NOW, now=LATER)
    assert outcome.changed == [order.steps[0].id]
    assert (order.steps[0].started_at, order.steps[0].completed_at) == (NOW, None)
    assert (order.status, order.steps[0].status, order.updated_at) == (
        "in_production", "in_production", LATER)
    assert order.steps[0].public_allocation() == PublicAllocation(
        "f1", "Haigang Precision", "w1", 6.0, 1080.0)  # still named to the buyer
    order.complete(order.steps[0].id, window_id="w1", started_at=LATER, at=LATER, now=LATER)
    assert (order.status, order.steps[0].status) == ("completed", "completed")
    assert (order.steps[0].started_at, order.steps[0].completed_at) == (NOW, LATER)  # kept
    again = order.complete(order.steps[0].id, window_id="w1", started_at=LATER, at=LATER, now=LATER)
    assert again.ignored == {order.steps[0].id: "order is completed"}


def test_a_step_completed_without_a_reported_start_completes_the_order() -> None:
    order = new_order()
    order.accept(accepted(order, 0), now=NOW)
    order.complete(order.steps[0].id, window_id="w1", started_at=NOW, at=LATER, now=LATER)
    assert (order.status, order.steps[0].status) == ("completed", "completed")
    assert (order.steps[0].started_at, order.steps[0].completed_at) == (NOW, LATER)


@pytest.mark.parametrize("reach", ["pending", "proposed", "held"])
def test_production_needs_accepted_hours(reach: str) -> None:
    order = new_order()
    if reach != "pending":
        order.propose([at(order, 0)], now=NOW)
    if reach == "held":
        order.hold(at(order, 0), now=NOW)
    before = order.status
    sid = order.steps[0].id
    for outcome in (order.start(sid, window_id="w1", at=LATER, now=LATER),
                    order.complete(sid, window_id="w1", started_at=LATER, at=LATER, now=LATER)):
        assert outcome.ignored == {sid: f"step is {reach}"}
    assert (order.status, order.steps[0].status) == (before, reach)


def test_a_report_for_another_window_is_ignored() -> None:
    order = new_order()
    order.accept(accepted(order, 0, "w1"), now=NOW)
    outcome = order.start(order.steps[0].id, window_id="w9", at=LATER, now=LATER)
    assert outcome.ignored == {
        order.steps[0].id: "the step's hours were accepted on another window"}
    assert (order.status, order.steps[0].status) == ("allocated", "accepted")


def test_an_order_is_in_production_once_every_step_is_accepted_and_one_started() -> None:
    order = new_order(step("cut"), step("mill", "cut"))
    cut, mill = order.steps
    order.accept(accepted(order, 0, "w1"), now=NOW)
    order.hold(at(order, 1, "w2"), now=NOW)
    order.start(cut.id, window_id="w1", at=NOW, now=NOW)
    assert (order.status, cut.status) == ("partially_allocated", "in_production")
    with pytest.raises(NotCancellable, match=f"order {order.id}: production of step cut has "
                                             "started; orders can be cancelled only until"):
        order.cancel(now=LATER)
    order.accept(accepted(order, 1, "w2"), now=NOW)
    assert order.status == "in_production"
    order.complete(cut.id, window_id="w1", started_at=NOW, at=NOW, now=NOW)
    assert order.status == "in_production"  # mill is not done
    order.complete(mill.id, window_id="w2", started_at=LATER, at=LATER, now=LATER)
    assert ([s.status for s in order.steps], order.status) == (
        ["completed", "completed"], "completed")
    late = order.hold(at(order, 1, "w3"), now=LATER)
    assert late.ignored == {mill.id: "order is completed"}


def test_an_unplaced_sibling_keeps_the_order_unplaced_but_not_cancellable() -> None:
    order = new_order(step("cut"), step("mill", "cut"))
    cut, mill = order.steps
    order.accept(accepted(order, 0, "w1"), now=NOW)
    order.start(cut.id, window_id="w1", at=NOW, now=NOW)
    order.unplace(mill.id, reason="capacity_taken", detail="", now=NOW)
    assert order.status == "unplaced"
    with pytest.raises(NotCancellable):
        order.cancel(now=LATER)
    order.accept(accepted(order, 1, "w2"), now=LATER)  # capacity appeared; the step placed
    assert order.status == "in_production"


def test_a_step_cannot_skip_its_machine() -> None:
    order = new_order()
    step_ = order.steps[0]
    with pytest.raises(IllegalTransition):
        step_._move(StepStatus.ACCEPTED)
    assert step_.status == "pending"
