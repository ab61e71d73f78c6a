"""Revising an order through the handlers: a new order with the changed terms and the same
steps replaces it, in one transaction with order.cancelled and order.submitted; who may, when,
and idempotent retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.orders.domain.commands import CancelOrder, ReviseOrder
from services.orders.domain.errors import InvalidOrder, NothingToRevise, NotRevisable
from services.orders.domain.rules import Location
from services.orders.service_layer import handlers, views
from services.orders.service_layer.handlers import IdempotencyConflict
from shared.events.payloads import ReservationAccepted, ReservationHeld, ReservationStarted
from tests.orders.unit.fakes import (
    NOW,
    FakeUnitOfWork,
    accept_all,
    feed,
    stored,
    submit,
    work_report,
)


def revise(uow: FakeUnitOfWork, order_id: str, key: str | None = None, buyer: str = "b1",
           **changes: object):  # type: ignore[no-untyped-def]
    return handlers.revise_order(ReviseOrder(order_id, buyer, ("qhd-auto",), changes, key), uow,
                                 now=NOW)


def test_a_revision_replaces_the_order_with_the_changed_terms_and_the_same_steps() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    revised, replayed = revise(uow, order.id, max_distance_km=90.0, budget=5000.0,
                               delivery=Location(39.9, 119.5))
    assert not replayed and revised.id != order.id
    assert (revised.terms.max_distance_km, revised.terms.budget, revised.terms.delivery) == (
        90.0, 5000.0, Location(39.9, 119.5))
    assert revised.terms.steps == order.terms.steps and revised.terms.title == "Brackets"
    assert {s.id for s in revised.steps}.isdisjoint(s.id for s in order.steps)
    old, new = stored(uow, order.id), stored(uow, revised.id)
    assert (old.status, old.revised_as, new.status, new.revision_of) == (
        "cancelled", revised.id, "submitted", order.id)
    cancelled, submitted = uow.published[-2:]
    assert (cancelled.type, cancelled.payload["order_id"], cancelled.payload["reason"]) == (
        "order.cancelled", order.id, f"revised as {revised.id}")
    assert cancelled.payload["step_ids"] == [s.id for s in order.steps]
    assert (submitted.type, submitted.payload["order_id"]) == ("order.submitted", revised.id)
    assert submitted.payload["max_distance_km"] == 90.0
    assert [s["step_id"] for s in submitted.payload["steps"]] == [s.id for s in revised.steps]
    assert uow.timeline.of(revised.id)[0].summary == {"steps": 2, "revision_of": order.id}
    assert uow.timeline.of(order.id)[-1].summary == {"steps": 2,
                                                     "reason": f"revised as {revised.id}"}
    (entry,) = uow.audit.entries
    assert (entry.actor, entry.action, entry.object_id, entry.detail) == (
        "b1", "order.revised", order.id,
        {"revised_as": revised.id, "changed": ["budget", "delivery", "max_distance_km"]})


def test_null_removes_a_budget_and_a_factory_limit() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow, budget=100.0, max_factories=1)
    revised, _ = revise(uow, order.id, budget=None, max_factories=None)
    assert (revised.terms.budget, revised.terms.max_factories) == (None, None)


def test_held_and_accepted_steps_are_given_back_with_the_cancelled_order() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    cut, weld = (s.id for s in order.steps)
    feed(uow, ReservationHeld(cluster_id="qhd-auto", order_id=order.id, step_id=cut,
                              window_id="w1", hours=6.0, reservation_id="r1", factory_id="f1",
                              price=1000.0, expires_at=NOW + timedelta(days=1)))
    feed(uow, ReservationAccepted(cluster_id="qhd-auto", order_id=order.id, step_id=cut,
                                  window_id="w1", hours=6.0, reservation_id="r1",
                                  factory_id="f1", factory_name="F", price=1000.0))
    revised, _ = revise(uow, order.id, min_tier="advanced")
    assert {s.status for s in stored(uow, order.id).steps} == {"cancelled"}
    assert {s.status for s in stored(uow, revised.id).steps} == {"pending"}
    assert weld in uow.published[-2].payload["step_ids"]


def test_the_same_key_answers_the_same_revision_and_another_body_is_a_conflict() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    first, _ = revise(uow, order.id, "k1", priority=5)
    published = len(uow.published)
    again, replayed = revise(uow, order.id, "k1", priority=5)
    assert (again.id, replayed, len(uow.published)) == (first.id, True, published)
    with pytest.raises(IdempotencyConflict):
        revise(uow, order.id, "k1", priority=4)


@pytest.mark.parametrize(("changes", "fails"), [
    ({"due": NOW - timedelta(hours=1)}, InvalidOrder),
    ({"max_distance_km": 60.0, "priority": 3}, NothingToRevise),  # as it is already
])
def test_a_bad_or_empty_revision_writes_nothing(changes: dict, fails: type) -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    commits, published = uow.commits, len(uow.published)
    with pytest.raises(fails) as exc:
        revise(uow, order.id, **changes)
    if isinstance(exc.value, InvalidOrder):
        assert [e.field for e in exc.value.errors] == ["due"]
    assert (uow.commits, len(uow.published)) == (commits, published)
    assert stored(uow, order.id).status == "submitted"


def test_only_its_buyer_revises_an_open_order() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    with pytest.raises(views.OrderNotFound):
        revise(uow, order.id, buyer="b2", priority=5)
    handlers.cancel_order(CancelOrder(order.id, "b1"), uow)
    with pytest.raises(NotRevisable) as exc:
        revise(uow, order.id, priority=5)
    assert "revised only until production starts" in str(exc.value)


def test_an_order_with_a_step_in_production_is_not_revised() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    cut = order.steps[0].id
    accept_all(uow, order.id, [cut])
    feed(uow, work_report(ReservationStarted, order.id, cut, 0))
    assert stored(uow, order.id).status == "partially_allocated"  # mill not placed yet
    commits, published = uow.commits, len(uow.published)
    with pytest.raises(NotRevisable, match=f"order {order.id}: production of step cut has "
                                           "started; orders can be revised only until"):
        revise(uow, order.id, priority=5)
    assert (uow.commits, len(uow.published)) == (commits, published)


def test_a_key_taken_meanwhile_by_another_request_is_a_conflict_and_writes_nothing() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    submit(uow, key="k1")  # another order took the key
    real_get, calls = uow.idempotency.get, []

    def miss_once(firm: str, key: str):  # type: ignore[no-untyped-def]
        calls.append(key)  # the race: the first look finds nothing
        return None if len(calls) == 1 else real_get(firm, key)

    uow.idempotency.get = miss_once  # type: ignore[method-assign]
    published = len(uow.published)
    with pytest.raises(IdempotencyConflict):
        revise(uow, order.id, "k1", priority=5)
    assert stored(uow, order.id).status == "submitted" and len(uow.published) == published
