"""allocation.proposed: atomic holds, rejections, idempotency, retries; accept and decline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.capacity.domain import commands as c
from services.capacity.domain.errors import HoldExpired, IllegalTransition, NotFound
from services.capacity.entrypoints.consumer import make_event_handler
from services.capacity.service_layer import base, handlers, views
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate
from shared.events import Envelope, new_event
from shared.events.payloads import AllocationProposed, OrderSubmitted, ProposedAllocation
from tests.capacity.unit.conftest import OTHER_SUPPLIER, SUPPLIER, T0, Seeded

TTL = timedelta(hours=24)


def proposal(order_id: str, *allocs: tuple[str, str, float]) -> tuple[Envelope, AllocationProposed]:
    payload = AllocationProposed(match_run_id="run-1", cluster_id="qhd-auto", order_id=order_id,
                                 allocations=[ProposedAllocation(
                                     step_id=s, window_id=w, machine_id="m", factory_id="f",
                                     hours=h, price=h * 180.0, transport_km=3.0)
                                     for s, w, h in allocs])
    return new_event(payload, key="qhd-auto", producer="matcher", correlation_id=order_id), payload


def hold(seeded: Seeded, order_id: str, *allocs: tuple[str, str, float]) -> Envelope:
    envelope, payload = proposal(order_id, *allocs)
    handlers.hold_proposed_allocations(payload, seeded.uow, envelope=envelope, hold_ttl=TTL,
                                       now=T0)
    return envelope


def window_hours(seeded: Seeded) -> tuple[float, float, float]:
    w = views.list_windows(SUPPLIER, seeded.machine_id, seeded.uow).items[0]
    return w.held_hours, w.accepted_hours, w.free_hours


def test_a_fitting_proposal_is_held_and_announced(seeded: Seeded) -> None:
    cause = hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    assert window_hours(seeded) == (6.0, 0.0, 14.0)
    held = seeded.uow.events[-1]
    assert held.type == "reservation.held"
    assert (held.correlation_id, held.causation_id) == ("o1", str(cause.event_id))
    assert held.payload["factory_id"] == seeded.factory_id
    assert held.payload["expires_at"].startswith("2026-12-02T08:00:00")
    assert held.payload["price"] == 1080.0


def test_a_misfit_rejects_every_step_of_the_order(seeded: Seeded) -> None:
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0), ("s2", seeded.window_id, 16.0))
    assert window_hours(seeded) == (0.0, 0.0, 20.0)
    rejected = [e.payload for e in seeded.uow.events if e.type == "reservation.rejected"]
    assert [(r["step_id"], r["reason"]) for r in rejected] == [
        ("s1", "order_incomplete"),
        ("s2", f"capacity_exceeded: window {seeded.window_id} has 14.0 h free, 16.0 h asked")]


def test_the_same_envelope_twice_holds_once(seeded: Seeded) -> None:
    envelope, payload = proposal("o1", ("s1", seeded.window_id, 6.0))
    for _ in range(2):
        handlers.hold_proposed_allocations(payload, seeded.uow, envelope=envelope, hold_ttl=TTL)
    assert window_hours(seeded)[0] == 6.0
    assert seeded.uow.event_types().count("reservation.held") == 1


def test_a_lost_compare_and_set_retries_the_whole_unit_of_work(seeded: Seeded) -> None:
    seeded.uow.conflicts_to_raise = 2
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    assert window_hours(seeded)[0] == 6.0
    assert seeded.uow.event_types().count("reservation.held") == 1


def test_endless_conflicts_give_up_with_nothing_written(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base.time, "sleep", lambda _s: None)
    seeded.uow.conflicts_to_raise = base.MAX_ATTEMPTS
    with pytest.raises(ConcurrentUpdate):
        hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    assert window_hours(seeded) == (0.0, 0.0, 20.0)
    assert "reservation.held" not in seeded.uow.event_types()


def _held_id(seeded: Seeded) -> str:
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    return seeded.uow.events[-1].payload["reservation_id"]


def test_accepting_moves_held_hours_to_accepted(seeded: Seeded) -> None:
    rid = _held_id(seeded)
    r = handlers.accept_reservation(c.AcceptReservation(SUPPLIER, rid, at=T0), seeded.uow)
    assert r.status == "accepted"
    assert window_hours(seeded) == (0.0, 6.0, 14.0)
    accepted = seeded.uow.events[-1]
    assert accepted.type == "reservation.accepted"
    assert accepted.payload["factory_name"] == "Haigang Precision"
    with pytest.raises(IllegalTransition):
        handlers.accept_reservation(c.AcceptReservation(SUPPLIER, rid, at=T0), seeded.uow)


def test_declining_frees_the_held_hours(seeded: Seeded) -> None:
    rid = _held_id(seeded)
    r = handlers.decline_reservation(c.DeclineReservation(SUPPLIER, rid, "busy", at=T0),
                                     seeded.uow)
    assert (r.status, r.reason) == ("declined", "busy")
    assert window_hours(seeded) == (0.0, 0.0, 20.0)
    assert seeded.uow.events[-1].payload["reason"] == "busy"
    with pytest.raises(IllegalTransition):
        handlers.decline_reservation(c.DeclineReservation(SUPPLIER, rid, "x", at=T0), seeded.uow)


def test_a_declined_step_can_be_held_again(seeded: Seeded) -> None:
    rid = _held_id(seeded)
    handlers.decline_reservation(c.DeclineReservation(SUPPLIER, rid, "busy", at=T0), seeded.uow)
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    assert seeded.uow.events[-1].type == "reservation.held"


def test_another_supplier_cannot_touch_the_reservation(seeded: Seeded) -> None:
    rid = _held_id(seeded)
    with pytest.raises(NotFound):
        handlers.accept_reservation(c.AcceptReservation(OTHER_SUPPLIER, rid), seeded.uow)
    with pytest.raises(NotFound):
        views.get_reservation(OTHER_SUPPLIER, rid, seeded.uow)
    assert window_hours(seeded)[0] == 6.0


def test_the_consumer_dispatches_proposals_and_ignores_other_types(seeded: Seeded) -> None:
    handle = make_event_handler(lambda: seeded.uow, hold_ttl=TTL)
    envelope, payload = proposal("o1", ("s1", seeded.window_id, 6.0))
    handle(envelope, payload)
    assert window_hours(seeded)[0] == 6.0
    other = OrderSubmitted(
        order_id="o9", buyer_firm_id="b", cluster_id="qhd-auto", title="t", delivery_lat=0,
        delivery_lon=0, due=T0, min_tier="basic", certifications=[], max_distance_km=60,
        priority=1, budget=None, allowed_factories=[], blocked_factories=[], max_factories=None,
        steps=[])
    before = seeded.uow.commits
    handle(new_event(other, key="qhd-auto", producer="orders"), other)
    assert seeded.uow.commits == before


def test_an_expired_hold_cannot_be_accepted_and_keeps_its_hours(seeded: Seeded) -> None:
    rid = _held_id(seeded)
    with pytest.raises(HoldExpired):
        handlers.accept_reservation(c.AcceptReservation(SUPPLIER, rid, at=T0 + TTL), seeded.uow)
    assert window_hours(seeded) == (6.0, 0.0, 14.0)
    assert "reservation.accepted" not in seeded.uow.event_types()
