"""Command and event handlers over the fake unit of work."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.orders.domain.commands import CancelOrder, SubmitOrder
from services.orders.domain.errors import InvalidOrder, NotCancellable
from services.orders.entrypoints.consumer import make_event_handler
from services.orders.service_layer import handlers, views
from shared.events import new_event
from shared.events.payloads import (
    AllocationProposed,
    ClusterCreated,
    MatchRunCompleted,
    OrderCancelled,
    ProposedAllocation,
    ReservationAccepted,
    ReservationCompleted,
    ReservationExpired,
    ReservationHeld,
    ReservationRejected,
    ReservationStarted,
    StepUnplaced,
    WindowClosed,
    WindowUpdated,
)
from tests.orders.unit.fakes import (
    NOW,
    FakeUnitOfWork,
    accept_all,
    feed,
    stored,
    submit,
    terms,
    work_report,
)


def test_submit_stores_the_order_and_publishes_order_submitted() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, replayed = submit(uow)
    assert not replayed and uow.commits == 1 and list(uow.orders.rows) == [order.id]
    [event] = uow.published
    assert (event.type, event.key, event.correlation_id) == (
        "order.submitted", "qhd-auto", order.id)
    cut, weld = order.steps
    assert [s["step_id"] for s in event.payload["steps"]] == [cut.id, weld.id]
    assert event.payload["steps"][1]["after"] == [cut.id]  # keys translated to step ids
    assert event.payload["due"] == "2026-12-08T08:00:00Z"


def test_invalid_orders_store_and_publish_nothing() -> None:
    uow = FakeUnitOfWork()  # no cluster known
    with pytest.raises(InvalidOrder) as caught:
        submit(uow, key="k1", due=NOW)
    assert [e.field for e in caught.value.errors] == ["cluster_id", "due"]
    assert uow.orders.rows == {} and uow.published == [] and uow.idempotency.records == {}
    assert uow.commits == 0


def test_the_same_key_and_terms_answer_the_first_order_without_a_new_event() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    first, _ = submit(uow, key="k1")
    again, replayed = submit(uow, key="k1")
    assert replayed and again.id == first.id
    assert len(uow.published) == 1 and len(uow.orders.rows) == 1


def test_the_same_key_with_other_terms_conflicts() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    submit(uow, key="k1")
    with pytest.raises(handlers.IdempotencyConflict):
        submit(uow, key="k1", title="Other")
    assert len(uow.published) == 1 and len(uow.orders.rows) == 1


def test_keys_are_scoped_to_the_firm_and_orders_without_keys_are_new() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    submit(uow, key="k1")
    submit(uow)
    submit(uow)
    other = SubmitOrder(buyer_firm_id="b2", buyer_clusters=("qhd-auto",), terms=terms(),
                        idempotency_key="k1")
    _, replayed = handlers.submit_order(other, uow, now=NOW)
    assert not replayed and len(uow.orders.rows) == 4 and len(uow.published) == 4


def test_a_lost_race_on_the_key_answers_the_winners_order() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    winner, _ = submit(uow, key="k1")
    real_get = uow.idempotency.get
    calls = []

    def miss_once(firm: str, key: str):  # type: ignore[no-untyped-def]
        calls.append(key)
        return None if len(calls) == 1 else real_get(firm, key)

    uow.idempotency.get = miss_once  # type: ignore[method-assign]
    order, replayed = submit(uow, key="k1")
    assert replayed and order.id == winner.id and len(uow.orders.rows) == 1
    assert len(uow.published) == 1


def test_event_flow_to_allocated() -> None:
    uow = FakeUnitOfWork()
    feed(uow, ClusterCreated(cluster_id="qhd-auto", name="Q", lat=39.9, lon=119.6,
                             max_distance_km=60))
    order, _ = submit(uow)
    ids = [s.id for s in order.steps]
    feed(uow, AllocationProposed(match_run_id="run1", cluster_id="qhd-auto", order_id=order.id,
                                 allocations=[_proposal(sid, f"w{i}") for i, sid in
                                              enumerate(ids)]))
    assert stored(uow, order.id).status == "matching"
    for i, sid in enumerate(ids):
        feed(uow, ReservationHeld(cluster_id="qhd-auto", order_id=order.id, step_id=sid,
                                  window_id=f"w{i}", hours=6.0, reservation_id=f"r{i}",
                                  factory_id="f1", price=1080.0, expires_at=NOW))
        feed(uow, ReservationAccepted(cluster_id="qhd-auto", order_id=order.id, step_id=sid,
                                      window_id=f"w{i}", hours=6.0, reservation_id=f"r{i}",
                                      factory_id="f1", factory_name="Haigang", price=1080.0))
    saved = stored(uow, order.id)
    assert saved.status == "allocated"
    assert [s.placement.factory_name for s in saved.steps] == ["Haigang", "Haigang"]  # type: ignore[union-attr]


def test_the_suppliers_reports_take_the_order_through_production_to_completed() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    cut, mill = (s.id for s in order.steps)
    accept_all(uow, order.id, [cut, mill])
    feed(uow, work_report(ReservationStarted, order.id, cut, 0))
    saved = stored(uow, order.id)
    assert (saved.status, [s.status for s in saved.steps]) == (
        "in_production", ["in_production", "accepted"])
    with pytest.raises(NotCancellable, match="is in_production; orders can be cancelled only"):
        handlers.cancel_order(CancelOrder(order.id, "b1"), uow, now=NOW)
    feed(uow, work_report(ReservationCompleted, order.id, cut, 0))
    feed(uow, work_report(ReservationCompleted, order.id, mill, 1))  # no start reported
    assert stored(uow, order.id).status == "completed"
    entries = uow.timeline.of(order.id)
    assert [e.type for e in entries][-3:] == ["reservation.started", "reservation.completed",
                                              "reservation.completed"]
    assert entries[-1].summary == {"started_at": NOW.isoformat(),
                                   "completed_at": NOW.isoformat()}
    assert [e.type for e in uow.published] == ["order.submitted"]  # nothing for the refusal


def test_a_start_reported_for_an_order_cancelled_meanwhile_is_recorded_and_ignored() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    cut, mill = (s.id for s in order.steps)
    accept_all(uow, order.id, [cut, mill])
    handlers.cancel_order(CancelOrder(order.id, "b1"), uow, now=NOW)
    feed(uow, work_report(ReservationStarted, order.id, cut, 0))
    assert stored(uow, order.id).status == "cancelled"
    assert uow.timeline.of(order.id)[-1].summary["ignored"] == {cut: "order is cancelled"}


def test_a_repeated_envelope_changes_nothing() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    rejected = ReservationRejected(cluster_id="qhd-auto", order_id=order.id,
                                   step_id=order.steps[0].id, window_id="w0", hours=6.0,
                                   reason="window full")
    proposal = AllocationProposed(match_run_id="run1", cluster_id="qhd-auto", order_id=order.id,
                                  allocations=[_proposal(order.steps[0].id, "w0")])
    envelope = feed(uow, proposal)
    feed(uow, rejected)
    assert stored(uow, order.id).steps[0].status == "pending"
    make_event_handler(lambda: uow)(envelope, proposal)  # redelivered
    assert stored(uow, order.id).steps[0].status == "pending"


def test_unknown_orders_and_other_event_types_are_ignored() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    envelope = feed(uow, StepUnplaced(match_run_id="r", cluster_id="qhd-auto", order_id="nope",
                                      step_id="s", reason="no_capable_machine", detail=""))
    assert ("orders", str(envelope.event_id)) in uow.inbox and uow.orders.rows == {}
    feed(uow, MatchRunCompleted(match_run_id="r", cluster_id="qhd-auto", trigger="batch",
                                status="optimal", placed_steps=0, unplaced_steps=0,
                                objective=None, wall_s=0.1))
    assert uow.published == [] and len(uow.inbox) == 1


def test_step_unplaced_marks_the_order_unplaced() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    feed(uow, StepUnplaced(match_run_id="r", cluster_id="qhd-auto", order_id=order.id,
                           step_id=order.steps[1].id, reason="outside_distance", detail="72 km"))
    saved = stored(uow, order.id)
    assert saved.status == "unplaced" and saved.steps[1].unplaced_reason == "outside_distance"


def test_views_hide_other_buyers_orders_and_page_newest_first() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    made = [submit(uow, title=f"o{i}")[0] for i in range(5)]
    for i, order in enumerate(made):  # distinct creation times
        uow.orders.rows[order.id].created_at = datetime(2026, 12, 1, i, tzinfo=UTC)
    with pytest.raises(views.OrderNotFound):
        views.get_order(uow, made[0].id, buyer_firm_id="b2")
    assert views.get_order(uow, made[0].id, buyer_firm_id=None).id == made[0].id
    page, cursor = views.list_orders(uow, buyer_firm_id="b1", limit=2)
    seen = [o.id for o in page]
    while cursor:
        page, cursor = views.list_orders(uow, buyer_firm_id="b1", cursor=cursor, limit=2)
        seen += [o.id for o in page]
    assert seen == [o.id for o in reversed(made)]
    with pytest.raises(views.InvalidCursor):
        views.list_orders(uow, buyer_firm_id=None, cursor="not-a-cursor")


def test_submit_records_order_submitted_in_the_timeline() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    [entry] = uow.timeline.entries
    assert (entry.order_id, entry.type, entry.event_id, entry.summary) == (
        order.id, "order.submitted", str(uow.published[0].event_id), {"steps": 2})


def _held_on_w0(uow: FakeUnitOfWork, order_id: str, step_id: str, *, runs: tuple[str, ...]
                ) -> None:
    """Step ``step_id`` proposed on window w0 by each of ``runs``, then held there (r0)."""
    for run in runs:
        feed(uow, AllocationProposed(match_run_id=run, cluster_id="qhd-auto", order_id=order_id,
                                     allocations=[_proposal(step_id, "w0")]))
    feed(uow, ReservationHeld(cluster_id="qhd-auto", order_id=order_id, step_id=step_id,
                              window_id="w0", hours=6.0, reservation_id="r0", factory_id="f1",
                              price=1080.0, expires_at=NOW))


def test_an_expired_hold_returns_the_step_to_pending() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    sid = order.steps[0].id
    _held_on_w0(uow, order.id, sid, runs=("r",))
    feed(uow, ReservationExpired(cluster_id="qhd-auto", order_id=order.id, step_id=sid,
                                 window_id="w0", hours=6.0, reservation_id="r0",
                                 factory_id="f1"))
    saved = stored(uow, order.id)
    assert saved.steps[0].status == "pending" and saved.steps[0].placement is None
    assert saved.status == "matching"
    assert [e.type for e in uow.timeline.of(order.id)] == [
        "order.submitted", "allocation.proposed", "reservation.held", "reservation.expired"]


def test_a_refused_second_proposal_leaves_the_held_step_held() -> None:
    """A step is proposed twice (e.g. a matcher that took the cluster over re-planned it before
    it heard of the hold): capacity holds the first proposal and refuses the second as
    ``already_reserved``. The refusal must not undo the hold in the buyer's view."""
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    sid = order.steps[0].id
    _held_on_w0(uow, order.id, sid, runs=("run1", "run2"))
    feed(uow, ReservationRejected(cluster_id="qhd-auto", order_id=order.id, step_id=sid,
                                  window_id="w0", hours=6.0, match_run_id="run2",
                                  reason=f"already_reserved: step {sid} has held reservation r0"))
    saved = stored(uow, order.id)
    assert saved.steps[0].status == "held" and saved.steps[0].placement.reservation_id == "r0"  # type: ignore[union-attr]
    [refusal] = [e for e in uow.timeline.of(order.id) if e.type == "reservation.rejected"]
    assert "capacity refused another proposal" in str(refusal.summary)


def test_event_types_orders_does_not_handle_are_ignored() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    order, _ = submit(uow)
    window = {"window_id": "w1", "machine_id": "m1", "factory_id": "f1", "cluster_id": "qhd-auto"}
    for payload in (
        WindowUpdated(**window, start=NOW, end=NOW, hours=2.0),
        WindowClosed(**window),
        OrderCancelled(order_id=order.id, cluster_id="qhd-auto", buyer_firm_id="b1",
                       step_ids=[]),
    ):
        feed(uow, payload)
    assert stored(uow, order.id).status == "submitted"
    assert len(uow.timeline.entries) == 1 and uow.inbox == set() and len(uow.published) == 1


def _proposal(step_id: str, window_id: str) -> ProposedAllocation:
    return ProposedAllocation(step_id=step_id, window_id=window_id, machine_id="m1",
                              factory_id="f1", hours=6.0, price=1080.0, transport_km=3.0)


def test_events_applied_together_read_and_write_each_order_once() -> None:
    alone, together = FakeUnitOfWork("qhd-auto"), FakeUnitOfWork("qhd-auto")
    order, _ = submit(alone)
    together.orders.rows = {order.id: order}
    ids = [s.id for s in order.steps]
    events = [AllocationProposed(match_run_id="run1", cluster_id="qhd-auto", order_id=order.id,
                                 allocations=[_proposal(sid, f"w{i}")
                                              for i, sid in enumerate(ids)])]
    events += [ReservationHeld(cluster_id="qhd-auto", order_id=order.id, step_id=sid,
                               window_id=f"w{i}", hours=6.0, reservation_id=f"r{i}",
                               factory_id="f1", price=1080.0, expires_at=NOW)
               for i, sid in enumerate(ids)]
    envelopes = [new_event(e, key="qhd-auto", producer="test") for e in events]
    for envelope, event in zip(envelopes, events, strict=True):
        handlers.on_order_event(envelope, event, alone)

    saves: list[list[str]] = []
    real_save = together.orders.save_all
    together.orders.save_all = lambda os: (saves.append([o.id for o in os]), real_save(os))  # type: ignore[method-assign]
    handlers.apply_order_events(list(zip(envelopes, events, strict=True)), together)
    assert saves == [[order.id]] and together.commits == 1
    assert replace(stored(together, order.id), updated_at=None) == replace(
        stored(alone, order.id), updated_at=None)  # the clock moved on between the two
    assert [s.status for s in stored(together, order.id).steps] == ["held", "held"]
    assert [e.type for e in together.timeline.of(order.id)] == [
        e.type for e in alone.timeline.of(order.id)][1:]  # alone also holds order.submitted


@pytest.mark.parametrize("sequence", [2**63, -1, 10**30, True, "7"])
def test_a_timeline_cursor_outside_64_bit_ids_is_refused(sequence) -> None:  # type: ignore[no-untyped-def]
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(["seq", sequence]).encode()).decode()
    with pytest.raises(views.InvalidCursor):
        views.decode_sequence_cursor(cursor)
    assert views.decode_sequence_cursor(views.encode_sequence_cursor(2**63 - 1)) == 2**63 - 1
