"""Event handlers that keep the matcher's read model in step with capacity and orders.

``handle_event`` applies one event in one transaction together with its inbox claim, so a
redelivered event changes nothing. Event types without a handler are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.matcher.domain import reasons
from services.matcher.domain.readmodel import (
    PROPOSED,
    UNPLACED,
    FactoryRecord,
    MachineRecord,
    OrderRecord,
    StepState,
    WindowRecord,
)
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.events import Envelope, EventPayload
from shared.events import payloads as ev

logger = logging.getLogger(__name__)

CONSUMER = "matcher"


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def handle_event(envelope: Envelope, payload: EventPayload, *, uow: UnitOfWork) -> bool:
    """Apply one event; returns False if ignored or applied before."""
    handler = EVENT_HANDLERS.get(type(payload))
    if handler is None:
        return False
    with uow:
        if not uow.claim(CONSUMER, envelope):
            logger.info("event %s (%s) applied before", envelope.event_id, envelope.type)
            return False
        uow.read_model.lock_cluster(payload.cluster_id)  # serialised with planning runs
        handler(payload, uow)
        uow.commit()
    return True


def on_cluster_created(p: ev.ClusterCreated, uow: UnitOfWork) -> None:
    uow.read_model.upsert_cluster(cluster_id=p.cluster_id, name=p.name, lat=p.lat, lon=p.lon,
                                  max_distance_km=p.max_distance_km)


def on_factory(p: ev.FactoryState, uow: UnitOfWork) -> None:
    uow.read_model.upsert_factory(FactoryRecord(
        id=p.factory_id, firm_id=p.firm_id, cluster_id=p.cluster_id, name=p.name, lat=p.lat,
        lon=p.lon, declared_tier=p.declared_tier, verified_tier=p.verified_tier, sme=p.sme,
        certifications=tuple(p.certifications)))


def on_machine_added(p: ev.MachineAdded, uow: UnitOfWork) -> None:
    uow.read_model.upsert_machine(MachineRecord(
        id=p.machine_id, factory_id=p.factory_id, cluster_id=p.cluster_id, name=p.name,
        process=p.process, materials=tuple(p.materials), hourly_rate=p.hourly_rate))


def on_window_opened(p: ev.WindowOpened, uow: UnitOfWork) -> None:
    """New capacity: store it, and give the cluster's unplaced steps another chance."""
    rm = uow.read_model
    rm.upsert_window(WindowRecord(
        id=p.window_id, machine_id=p.machine_id, factory_id=p.factory_id,
        cluster_id=p.cluster_id, start=utc(p.start), end=utc(p.end), hours=p.hours))
    for step in rm.cluster_steps(p.cluster_id, status=UNPLACED):
        if step.reopen():
            rm.save_step(step)


def on_order_submitted(p: ev.OrderSubmitted, uow: UnitOfWork) -> None:
    order = OrderRecord(
        id=p.order_id, buyer_firm_id=p.buyer_firm_id, cluster_id=p.cluster_id, title=p.title,
        delivery_lat=p.delivery_lat, delivery_lon=p.delivery_lon, due=utc(p.due),
        min_tier=p.min_tier, certifications=tuple(p.certifications),
        max_distance_km=p.max_distance_km, priority=p.priority, budget=p.budget,
        allowed_factories=tuple(p.allowed_factories),
        blocked_factories=tuple(p.blocked_factories), max_factories=p.max_factories)
    steps = [StepState(id=s.step_id, order_id=p.order_id, cluster_id=p.cluster_id,
                       key=s.key, process=s.process, material=s.material, quantity=s.quantity,
                       hours=s.hours, after=list(s.after), position=i)
             for i, s in enumerate(p.steps)]
    if not uow.read_model.add_order(order, steps):
        logger.warning("order %s submitted twice; kept the first", p.order_id)


def on_reservation_held(p: ev.ReservationHeld, uow: UnitOfWork) -> None:
    step = _step(p, uow)
    if step is not None:
        step.hold(window_id=p.window_id, price=p.price)
        uow.read_model.save_step(step)


def on_reservation_accepted(p: ev.ReservationAccepted, uow: UnitOfWork) -> None:
    step = _step(p, uow)
    if step is not None:
        step.accept(window_id=p.window_id, price=p.price)
        uow.read_model.save_step(step)


def on_reservation_rejected(p: ev.ReservationRejected, uow: UnitOfWork) -> None:
    """Capacity could not hold the order's proposal. It holds all of an order's steps or none,
    so the siblings still proposed by the same run go back to pending as well. The window is
    excluded for this step, unless capacity says only that a sibling failed
    (``order_incomplete``)."""
    step = _step(p, uow)
    if step is None:
        return
    step.release(window_id=p.window_id, run_id=p.match_run_id,
                 exclude=not p.reason.startswith(reasons.ORDER_INCOMPLETE))
    uow.read_model.save_step(step)
    for sibling in uow.read_model.order_steps(p.order_id):
        if (sibling.id != step.id and sibling.status == PROPOSED
                and p.match_run_id is not None and sibling.match_run_id == p.match_run_id):
            sibling.withdraw()
            uow.read_model.save_step(sibling)


def on_reservation_declined(p: ev.ReservationDeclined, uow: UnitOfWork) -> None:
    step = _step(p, uow)
    if step is not None:
        step.release(window_id=p.window_id)
        uow.read_model.save_step(step)


def _step(p: ev.ReservationRef, uow: UnitOfWork) -> StepState | None:
    step = uow.read_model.get_step(p.step_id)
    if step is None:
        logger.warning("%s for unknown step %s ignored", p.TYPE, p.step_id)
    return step


EVENT_HANDLERS: dict[type[EventPayload], Callable[[Any, UnitOfWork], None]] = {
    ev.ClusterCreated: on_cluster_created,
    ev.FactoryRegistered: on_factory,
    ev.FactoryUpdated: on_factory,
    ev.MachineAdded: on_machine_added,
    ev.WindowOpened: on_window_opened,
    ev.OrderSubmitted: on_order_submitted,
    ev.ReservationHeld: on_reservation_held,
    ev.ReservationAccepted: on_reservation_accepted,
    ev.ReservationRejected: on_reservation_rejected,
    ev.ReservationDeclined: on_reservation_declined,
}
