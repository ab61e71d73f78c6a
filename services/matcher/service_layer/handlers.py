"""Event handlers that keep the matcher's read model in step with capacity, orders and the
matching topic (plans another instance made before this one took a cluster over).

``handle_event`` applies one event in one transaction together with its inbox claim, so a
redelivered event changes nothing. Event types without a handler are ignored. When the
consumer passes the record's position, the offset is stored in that same transaction: it is
where a rebuild of the read model from the topics resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from services.matcher.domain import reasons
from services.matcher.domain.readmodel import (
    ACCEPTED,
    HELD,
    OPEN,
    PLACED,
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
# capacity's reason when it releases, or refuses to hold, a cancelled order's reservations
ORDER_CANCELLED = "order_cancelled"


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Position(Protocol):
    """Where the event's record sits in the topics
    (``shared.messaging.partitions.RecordPosition``)."""

    topic: str
    partition: int
    offset: int


def handles(payload: EventPayload) -> bool:
    """Whether the matcher applies events of this type (the others only move its offsets)."""
    return type(payload) in EVENT_HANDLERS


def stored_runs(payloads: Sequence[EventPayload], uow: UnitOfWork) -> set[str]:
    """The match runs these events report on (proposals, unplaced steps) that this service
    stored, with one query: such events are its own plans read back, which changed the read
    model when they were made (``applies``)."""
    ids = {p.match_run_id for p in payloads if isinstance(p, RUN_OUTCOMES)}
    return uow.runs.stored(ids) if ids else set()


def applies(payload: EventPayload, stored: set[str]) -> bool:
    """Whether a group applies the event: a type the matcher handles, and not the outcome of a
    run in ``stored`` (``stored_runs``). The others are not claimed in the inbox nor read
    ahead; they only move the offsets (their handlers would find nothing to do)."""
    return handles(payload) and not (isinstance(payload, RUN_OUTCOMES)
                                     and payload.match_run_id in stored)


def claim_all(envelopes: Sequence[Envelope], uow: UnitOfWork) -> list[bool]:
    """Claim several events at once, for ``handle_event(claimed=…)`` in the same transaction."""
    return uow.claim_all(CONSUMER, envelopes)


def prefetch_steps(payloads: Sequence[EventPayload], uow: UnitOfWork) -> None:
    """Read the steps these events name with one query (each handler would read its own),
    after locking their clusters as the handlers would: what is read ahead is current."""
    named: list[str] = []
    clusters: set[str] = set()
    for p in payloads:
        if isinstance(p, ev.ReservationRef | ev.StepUnplaced):
            named.append(p.step_id)
        elif isinstance(p, ev.AllocationProposed):
            named += [a.step_id for a in p.allocations]
        else:
            continue
        clusters.add(p.cluster_id)
    for cluster_id in sorted(clusters):
        uow.read_model.lock_cluster(cluster_id)
    if named:
        uow.read_model.prefetch_steps(named)


def handle_event(envelope: Envelope, payload: EventPayload, *, uow: UnitOfWork,
                 position: Position | None = None, claimed: bool | None = None,
                 skip: bool = False) -> bool:
    """Apply one event; returns False if ignored or applied before. ``position`` is stored
    as the last applied offset of its partition in any case. ``claimed``: the event's inbox
    claim, when the caller made it already (``claim_all``). ``skip``: the caller found the
    event has nothing to apply (``applies``); only its position is stored."""
    handler = None if skip else EVENT_HANDLERS.get(type(payload))
    if handler is None and position is None:
        return False
    applied = False
    with uow:
        if handler is not None:
            if claimed is None:
                claimed = uow.claim(CONSUMER, envelope)
            if claimed:
                uow.read_model.lock_cluster(payload.cluster_id)  # serialised with planning runs
                if type(payload) in TIMED:
                    outcome = handler(payload, uow, occurred_at=utc(envelope.occurred_at))
                else:
                    outcome = handler(payload, uow)
                if type(payload) not in KEEPS_PLANS and outcome is not UNCHANGED:
                    uow.read_model.bump_plan_epoch(payload.cluster_id)
                applied = True
            else:
                logger.info("event %s (%s) applied before", envelope.event_id, envelope.type)
        if position is not None:
            uow.offsets.record(topic=position.topic, partition=position.partition,
                               offset=position.offset)
        if applied or position is not None:
            uow.commit()
    return applied


def on_cluster_created(p: ev.ClusterCreated, uow: UnitOfWork) -> None:
    uow.read_model.upsert_cluster(cluster_id=p.cluster_id, name=p.name, lat=p.lat, lon=p.lon,
                                  max_distance_km=p.max_distance_km)


def on_factory(p: ev.FactoryState, uow: UnitOfWork) -> None:
    """A factory's state. If it now serves more (a higher verified tier, a new certification,
    another place), the cluster's unplaced steps are tried again: their reason may be gone."""
    rm = uow.read_model
    before = rm.get_factory(p.factory_id)
    after = FactoryRecord(
        id=p.factory_id, firm_id=p.firm_id, cluster_id=p.cluster_id, name=p.name, lat=p.lat,
        lon=p.lon, declared_tier=p.declared_tier, verified_tier=p.verified_tier, sme=p.sme,
        certifications=tuple(p.certifications))
    rm.upsert_factory(after)
    if before is not None and after.serves_more_than(before):
        _reopen_unplaced(p.cluster_id, uow)


def on_machine(p: ev.MachineState, uow: UnitOfWork) -> None:
    """A machine's state. A new material or a lower rate gives the cluster's unplaced steps
    another try; steps placed on its windows keep their price."""
    rm = uow.read_model
    before = rm.get_machine(p.machine_id)
    after = MachineRecord(
        id=p.machine_id, factory_id=p.factory_id, cluster_id=p.cluster_id, name=p.name,
        process=p.process, materials=tuple(p.materials), hourly_rate=p.hourly_rate)
    rm.upsert_machine(after)
    if before is not None and after.serves_more_than(before):
        _reopen_unplaced(p.cluster_id, uow)


def on_window_opened(p: ev.WindowOpened, uow: UnitOfWork) -> None:
    """New capacity: store it, and give the cluster's unplaced steps another chance."""
    uow.read_model.upsert_window(_window(p))
    _reopen_unplaced(p.cluster_id, uow)


def on_window_updated(p: ev.WindowUpdated, uow: UnitOfWork) -> None:
    """New times or hours. Free hours follow (they are offered minus placed hours); if the
    window now offers more hours or ends later, the cluster's unplaced steps are tried again."""
    rm = uow.read_model
    before, after = rm.get_window(p.window_id), _window(p)
    rm.upsert_window(after)
    if before is None or after.offers_more_than(before):
        _reopen_unplaced(p.cluster_id, uow)


def on_window_closed(p: ev.WindowClosed, uow: UnitOfWork) -> None:
    """The window leaves planning. A step merely proposed on it goes back to pending, and so do
    the siblings proposed by the same run: capacity holds an order all-or-nothing, so it will
    reject that proposal as a whole.

    Capacity closes a window under accepted hours only once their work is completed. Those
    steps stay pinned to it, so the window stays too, shrunk to their hours (nothing free): a
    sibling still to plan needs its end and prices. Capacity never closes a window under a hold
    or unfinished work; should one be found, it is logged and kept the same way."""
    rm = uow.read_model
    window = rm.get_window(p.window_id)
    kept = []
    for step in rm.window_steps(p.window_id):
        if step.status == PROPOSED:
            step.withdraw()
            rm.save_step(step)
            _withdraw_siblings(step, run_id=step.match_run_id, uow=uow)
        elif step.status in (HELD, ACCEPTED):
            kept.append(step)
            if step.completed_at is None:
                logger.warning("window %s closed under %s step %s", p.window_id, step.status,
                               step.id)
    if window is None:
        logger.warning("window.closed for unknown window %s", p.window_id)
    elif kept:
        rm.upsert_window(replace(window, hours=sum(s.hours for s in kept)))
    else:
        rm.delete_window(p.window_id)


def _window(p: ev.WindowState) -> WindowRecord:
    return WindowRecord(id=p.window_id, machine_id=p.machine_id, factory_id=p.factory_id,
                        cluster_id=p.cluster_id, start=utc(p.start), end=utc(p.end),
                        hours=p.hours)


def _reopen_unplaced(cluster_id: str, uow: UnitOfWork) -> None:
    rm = uow.read_model
    for step in rm.cluster_steps(cluster_id, status=UNPLACED):
        if step.reopen():
            rm.save_step(step)


def on_order_submitted(p: ev.OrderSubmitted, uow: UnitOfWork, *,
                       occurred_at: datetime | None = None) -> None:
    """``occurred_at``: the event's time, i.e. when the orders API accepted the order."""
    order = OrderRecord(
        id=p.order_id, buyer_firm_id=p.buyer_firm_id, cluster_id=p.cluster_id, title=p.title,
        delivery_lat=p.delivery_lat, delivery_lon=p.delivery_lon, due=utc(p.due),
        min_tier=p.min_tier, certifications=tuple(p.certifications),
        max_distance_km=p.max_distance_km, priority=p.priority, budget=p.budget,
        allowed_factories=tuple(p.allowed_factories),
        blocked_factories=tuple(p.blocked_factories), max_factories=p.max_factories,
        submitted_at=occurred_at)
    steps = [StepState(id=s.step_id, order_id=p.order_id, cluster_id=p.cluster_id,
                       key=s.key, process=s.process, material=s.material, quantity=s.quantity,
                       hours=s.hours, after=list(s.after), position=i)
             for i, s in enumerate(p.steps)]
    if not uow.read_model.add_order(order, steps):
        logger.warning("order %s submitted twice; kept the first", p.order_id)


def on_order_cancelled(p: ev.OrderCancelled, uow: UnitOfWork) -> None:
    """Every step of the order leaves planning for good; the hours it had are free."""
    steps = uow.read_model.order_steps(p.order_id)
    if not steps:
        logger.warning("order.cancelled for unknown order %s ignored", p.order_id)
    detail = "the order was cancelled" + (f": {p.reason}" if p.reason else "")
    _cancel(steps, detail=detail, uow=uow)


def _cancel(steps: list[StepState], *, detail: str, uow: UnitOfWork) -> None:
    for step in steps:
        if step.cancel(detail=detail):
            uow.read_model.save_step(step)


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


def on_reservation_started(p: ev.ReservationStarted, uow: UnitOfWork) -> None:
    """The supplier started the step's work: in production for the operator's statistics; the
    step stays accepted on its window (plans do not change)."""
    step = _step(p, uow)
    if step is not None and step.start(window_id=p.window_id, at=p.started_at):
        uow.read_model.save_step(step)


def on_reservation_completed(p: ev.ReservationCompleted, uow: UnitOfWork) -> None:
    """The supplier completed the step's work: recorded for the operator's statistics; the
    step stays accepted on its window (plans do not change)."""
    step = _step(p, uow)
    if step is not None and step.complete(window_id=p.window_id, at=p.completed_at,
                                          started_at=p.started_at):
        uow.read_model.save_step(step)


def on_reservation_rejected(p: ev.ReservationRejected, uow: UnitOfWork) -> None:
    """Capacity could not hold the order's proposal. It holds all of an order's steps or none,
    so the siblings still proposed by the same run go back to pending as well. The window is
    excluded for this step, unless capacity says only that a sibling failed
    (``order_incomplete``). A rejection because the order was cancelled cancels it here too
    (``order.cancelled`` may still be on its way). A step capacity holds (or the supplier
    accepted) was held through another proposal: the refusal of this one (e.g.
    ``already_reserved``) neither moves it nor blames the window."""
    step = _step(p, uow)
    if step is None:
        return
    if p.reason.startswith(ORDER_CANCELLED):
        _cancel(uow.read_model.order_steps(p.order_id), uow=uow,
                detail="the order was cancelled (capacity refused its proposal)")
        return
    if step.status not in (HELD, ACCEPTED):
        step.release(window_id=p.window_id, run_id=p.match_run_id,
                     exclude=not p.reason.startswith(reasons.ORDER_INCOMPLETE))
        uow.read_model.save_step(step)
    _withdraw_siblings(step, run_id=p.match_run_id, uow=uow)


def _withdraw_siblings(step: StepState, *, run_id: str | None, uow: UnitOfWork) -> None:
    """Back to pending: the other steps of ``step``'s order still proposed by run ``run_id``."""
    if run_id is None:
        return
    for sibling in uow.read_model.order_steps(step.order_id):
        if (sibling.id != step.id and sibling.status == PROPOSED
                and sibling.match_run_id == run_id):
            sibling.withdraw()
            uow.read_model.save_step(sibling)


def on_reservation_declined(p: ev.ReservationDeclined | ev.ReservationExpired,
                            uow: UnitOfWork) -> None:
    """The supplier declined the hold, or did not answer before it expired: the step goes
    back to pending, its hours are free, and it never gets that window again."""
    step = _step(p, uow)
    if step is not None:
        step.release(window_id=p.window_id)
        uow.read_model.save_step(step)


def on_reservation_released(p: ev.ReservationReleased, uow: UnitOfWork) -> None:
    """Capacity gave back a hold or an acceptance. For a cancelled order (capacity's reason)
    the whole order is cancelled here, the same as ``order.cancelled`` does, whichever of the
    two arrives first. For any other reason the step's hours are freed and it is planned
    again (without excluding the window, which was not at fault)."""
    step = _step(p, uow)
    if step is None:
        return
    if p.reason.startswith(ORDER_CANCELLED):
        _cancel(uow.read_model.order_steps(p.order_id), uow=uow,
                detail="the order was cancelled (capacity released its reservations)")
    elif step.status in PLACED and step.window_id == p.window_id:
        step.withdraw()
        uow.read_model.save_step(step)


def on_allocation_proposed(p: ev.AllocationProposed, uow: UnitOfWork) -> object:
    """A plan made by another matcher instance (which held the cluster before this one): its
    steps sit on those windows, and use their hours, until capacity answers. A step proposed
    by an earlier run takes the later proposal (the earlier one was given back). Held,
    accepted and cancelled steps stay as they are. This instance's own runs changed the read
    model when they were made."""
    if uow.runs.exists(p.match_run_id):
        return UNCHANGED
    rm = uow.read_model
    for a in p.allocations:
        step = rm.get_step(a.step_id)
        if step is None:
            logger.warning("allocation.proposed for unknown step %s ignored", a.step_id)
            continue
        if step.status == PROPOSED and step.match_run_id != p.match_run_id:
            step.withdraw()
        if step.status in OPEN:
            step.propose(window_id=a.window_id, price=a.price, transport_km=a.transport_km,
                         run_id=p.match_run_id)
            rm.save_step(step)


def on_step_unplaced(p: ev.StepUnplaced, uow: UnitOfWork) -> object:
    """Another instance could not place the step: it waits for new capacity, as here."""
    if uow.runs.exists(p.match_run_id):
        return UNCHANGED
    step = uow.read_model.get_step(p.step_id)
    if step is None:
        logger.warning("step.unplaced for unknown step %s ignored", p.step_id)
        return
    if step.status == PROPOSED and step.match_run_id != p.match_run_id:
        step.withdraw()
    if step.status in OPEN:
        step.mark_unplaced(reason=p.reason, detail=p.detail, run_id=p.match_run_id)
        uow.read_model.save_step(step)


def _step(p: ev.ReservationRef, uow: UnitOfWork) -> StepState | None:
    step = uow.read_model.get_step(p.step_id)
    if step is None:
        logger.warning("%s for unknown step %s ignored", p.TYPE, p.step_id)
    return step


EVENT_HANDLERS: dict[type[EventPayload], Callable[[Any, UnitOfWork], object]] = {
    ev.ClusterCreated: on_cluster_created,
    ev.FactoryRegistered: on_factory,
    ev.FactoryUpdated: on_factory,
    ev.MachineAdded: on_machine,
    ev.MachineUpdated: on_machine,
    ev.WindowOpened: on_window_opened,
    ev.WindowUpdated: on_window_updated,
    ev.WindowClosed: on_window_closed,
    ev.OrderSubmitted: on_order_submitted,
    ev.OrderCancelled: on_order_cancelled,
    ev.ReservationHeld: on_reservation_held,
    ev.ReservationAccepted: on_reservation_accepted,
    ev.ReservationStarted: on_reservation_started,
    ev.ReservationCompleted: on_reservation_completed,
    ev.ReservationRejected: on_reservation_rejected,
    ev.ReservationDeclined: on_reservation_declined,
    ev.ReservationExpired: on_reservation_declined,  # the same: that window failed the step
    ev.ReservationReleased: on_reservation_released,
    ev.AllocationProposed: on_allocation_proposed,
    ev.AllocationProposedV2: on_allocation_proposed,  # v1 plus each allocation's job
    ev.AllocationProposedV3: on_allocation_proposed,  # v2 plus the job's step and after
    ev.StepUnplaced: on_step_unplaced,
}
# Events whose effect commutes with a match run solved meanwhile (planning.py): new orders (not
# in the run's batch), holds and acceptances (placed steps stay on their windows), and
# capacity given back by a refusal, decline or release (the plan stays feasible; a changed
# step of the batch is caught by comparing the batch's steps), work started or completed (the
# step stays accepted where it is). Every other event bumps the cluster's plan epoch, and a
# run that solved across it plans again.
KEEPS_PLANS: frozenset[type[EventPayload]] = frozenset({
    ev.OrderSubmitted, ev.ReservationHeld, ev.ReservationAccepted, ev.ReservationRejected,
    ev.ReservationDeclined, ev.ReservationExpired, ev.ReservationReleased, ev.MachineAdded,
    ev.ReservationStarted, ev.ReservationCompleted})
# a match run's outcomes: what its events tell, the run that made them knew already
RUN_OUTCOMES = (ev.AllocationProposed, ev.StepUnplaced)
# returned by a handler that found nothing to do (this instance's own plan, read back)
UNCHANGED = object()
# handlers that also take the event's time (``occurred_at``)
TIMED: frozenset[type[EventPayload]] = frozenset({ev.OrderSubmitted})
