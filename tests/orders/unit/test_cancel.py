"""Cancelling through the handlers: order.cancelled, who may, and what comes after."""

from __future__ import annotations

import pytest

from services.orders.domain.commands import CancelOrder
from services.orders.domain.errors import NotCancellable
from services.orders.service_layer import handlers, views
from shared.events.payloads import ReservationReleased, StepUnplaced
from tests.orders.unit.fakes import NOW, FakeUnitOfWork, feed, stored, submit


def test_cancel_publishes_order_cancelled_with_every_step() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    cancelled = handlers.cancel_order(CancelOrder(order.id, "b1", reason="plans changed"), uow,
                                      now=NOW)
    assert cancelled.status == "cancelled"
    saved = stored(uow, order.id)
    assert saved.status == "cancelled" and {s.status for s in saved.steps} == {"cancelled"}
    event = uow.published[-1]
    assert (event.type, event.key, event.correlation_id) == ("order.cancelled", "qhd-auto",
                                                             order.id)
    assert event.payload == {"order_id": order.id, "cluster_id": "qhd-auto",
                             "buyer_firm_id": "b1", "step_ids": [s.id for s in order.steps],
                             "reason": "plans changed"}
    assert [e.type for e in uow.timeline.of(order.id)] == ["order.submitted", "order.cancelled"]
    assert uow.timeline.of(order.id)[1].summary == {"steps": 2, "reason": "plans changed"}


def test_the_operator_cancels_any_order_and_other_buyers_none() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    with pytest.raises(views.OrderNotFound):
        handlers.cancel_order(CancelOrder(order.id, "b2"), uow)
    with pytest.raises(views.OrderNotFound):
        handlers.cancel_order(CancelOrder("ord_nope", None), uow)
    assert stored(uow, order.id).status == "submitted" and len(uow.published) == 1
    handlers.cancel_order(CancelOrder(order.id, None), uow)
    assert stored(uow, order.id).status == "cancelled"
    assert uow.published[-1].payload["buyer_firm_id"] == "b1"


def test_a_refused_cancel_writes_nothing() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    handlers.cancel_order(CancelOrder(order.id, "b1"), uow)
    commits, published = uow.commits, len(uow.published)
    with pytest.raises(NotCancellable):
        handlers.cancel_order(CancelOrder(order.id, "b1"), uow)
    assert (uow.commits, len(uow.published), len(uow.timeline.entries)) == (commits, published, 2)


def test_a_release_after_cancelling_is_recorded_and_changes_nothing() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    handlers.cancel_order(CancelOrder(order.id, "b1"), uow)
    before = stored(uow, order.id)
    feed(uow, ReservationReleased(cluster_id="qhd-auto", order_id=order.id,
                                  step_id=order.steps[0].id, window_id="w0", hours=6.0,
                                  reservation_id="r0", factory_id="f1", reason="order_cancelled"))
    assert stored(uow, order.id) == before
    last = uow.timeline.of(order.id)[-1]
    assert (last.type, last.step_id, last.summary) == (
        "reservation.released", order.steps[0].id, {"hours": 6.0, "reason": "order_cancelled"})


def test_events_of_a_cancelled_order_are_recorded_as_ignored() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    handlers.cancel_order(CancelOrder(order.id, "b1"), uow)
    feed(uow, StepUnplaced(match_run_id="r", cluster_id="qhd-auto", order_id=order.id,
                           step_id=order.steps[0].id, reason="capacity_taken", detail=""))
    assert stored(uow, order.id).steps[0].status == "cancelled"
    assert uow.timeline.of(order.id)[-1].summary == {
        "reason": "capacity_taken", "ignored": {order.steps[0].id: "order is cancelled"}}
