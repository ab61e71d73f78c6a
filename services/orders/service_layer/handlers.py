"""Command and event handlers: load, one domain call, publish, commit."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from services.orders.domain.commands import CancelOrder, ReviseOrder, SubmitOrder
from services.orders.domain.model import Order, Outcome, Placement
from services.orders.service_layer import timeline
from services.orders.service_layer.unit_of_work import (
    AbstractUnitOfWork,
    DuplicateRecord,
    IdempotencyRecord,
)
from services.orders.service_layer.views import OrderNotFound
from shared.audit import AuditEntry
from shared.events import Envelope, EventPayload, new_event
from shared.events.payloads import (
    AllocationProposed,
    AllocationProposedV2,
    AllocationProposedV3,
    ClusterCreated,
    OrderCancelled,
    OrderSubmitted,
    ReservationAccepted,
    ReservationCompleted,
    ReservationDeclined,
    ReservationExpired,
    ReservationHeld,
    ReservationRejected,
    ReservationReleased,
    ReservationStarted,
    StepUnplaced,
    SubmittedStep,
)

logger = logging.getLogger(__name__)

SERVICE = "orders"  # producer name and inbox consumer name
AUDITED_ACTIONS = ["order.cancelled", "order.revised"]


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- commands -----------------------------------------------------------------------------------
def submit_order(
    cmd: SubmitOrder, uow: AbstractUnitOfWork, *, now: datetime | None = None
) -> tuple[Order, bool]:
    """Stores the order and its order.submitted event; answers (order, replayed).

    With an idempotency key seen before, answers the order it made (replayed=True) and writes
    nothing; the same key with other terms raises IdempotencyConflict.
    """
    fingerprint = terms_fingerprint(cmd)
    try:
        with uow:
            if (earlier := _earlier_order(cmd.buyer_firm_id, cmd.idempotency_key, fingerprint,
                                          uow)) is not None:
                return earlier, True
            order = Order.submit(
                cmd.terms, buyer_firm_id=cmd.buyer_firm_id, buyer_clusters=cmd.buyer_clusters,
                cluster_known=uow.clusters.exists(cmd.terms.cluster_id), now=now or utcnow(),
            )
            uow.orders.add(order)
            if cmd.idempotency_key is not None:
                uow.idempotency.add(IdempotencyRecord(
                    cmd.buyer_firm_id, cmd.idempotency_key, fingerprint, order.id))
            envelope = submitted_event(order)
            uow.publish(envelope)
            uow.timeline.add_all([timeline.submitted(order, envelope)])
            uow.commit()
            return order, False
    except DuplicateRecord:
        logger.info("a concurrent request took Idempotency-Key %r first", cmd.idempotency_key)
        with uow:  # answer as the request that won the race did
            if (earlier := _earlier_order(cmd.buyer_firm_id, cmd.idempotency_key, fingerprint,
                                          uow)) is None:
                raise
            return earlier, True


def _earlier_order(buyer_firm_id: str, key: str | None, fingerprint: str,
                   uow: AbstractUnitOfWork) -> Order | None:
    if key is None:
        return None
    record = uow.idempotency.get(buyer_firm_id, key)
    if record is None:
        return None
    if record.fingerprint != fingerprint or record.order_id is None:
        raise IdempotencyConflict(
            "this Idempotency-Key was used before with a different request body")
    return uow.orders.get(record.order_id)


def terms_fingerprint(cmd: SubmitOrder) -> str:
    """A stable hash of the order terms (the request body), for idempotent retries."""
    return _fingerprint(dataclasses.asdict(cmd.terms))


def _fingerprint(value: object) -> str:
    def default(item: Any) -> Any:
        if isinstance(item, datetime):
            return item.astimezone(UTC).isoformat()
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return dataclasses.asdict(item)
        raise TypeError(type(item).__name__)

    canonical = json.dumps(value, sort_keys=True, default=default)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def submitted_event(order: Order) -> Envelope:
    ids = order.step_ids_by_key()
    t = order.terms
    payload = OrderSubmitted(
        order_id=order.id, buyer_firm_id=order.buyer_firm_id, cluster_id=t.cluster_id,
        title=t.title, delivery_lat=t.delivery.lat, delivery_lon=t.delivery.lon, due=t.due,
        min_tier=t.min_tier, certifications=list(t.certifications),  # type: ignore[arg-type]
        max_distance_km=t.max_distance_km, priority=t.priority, budget=t.budget,
        allowed_factories=list(t.allowed_factories), blocked_factories=list(t.blocked_factories),
        max_factories=t.max_factories,
        steps=[
            SubmittedStep(step_id=s.id, key=s.key, process=s.process, material=s.material,
                          quantity=s.quantity, hours=s.hours, after=[ids[k] for k in s.after])
            for s in order.steps
        ],
    )
    return new_event(payload, key=t.cluster_id, producer=SERVICE, correlation_id=order.id)


def cancel_order(
    cmd: CancelOrder, uow: AbstractUnitOfWork, *, now: datetime | None = None
) -> Order:
    """Cancels the order and its steps and writes order.cancelled (capacity releases the
    holds and acceptances on it). Raises OrderNotFound, or NotCancellable once in production."""
    with uow:
        order = uow.orders.get(cmd.order_id, for_update=True)
        if order is None or cmd.buyer_firm_id not in (None, order.buyer_firm_id):
            raise OrderNotFound(cmd.order_id)
        order.cancel(now=now or utcnow())
        uow.orders.save(order)
        envelope = cancelled_event(order, reason=cmd.reason)
        uow.publish(envelope)
        uow.timeline.add_all([timeline.cancelled(order, envelope, reason=cmd.reason)])
        actor, role = cmd.caller
        uow.audit.add(AuditEntry(actor=actor, role=role, action="order.cancelled",
                                 object_type="order", object_id=order.id, at=envelope.occurred_at,
                                 detail={"reason": cmd.reason,
                                         "buyer_firm_id": order.buyer_firm_id}))
        uow.commit()
        return order


def cancelled_event(order: Order, *, reason: str | None) -> Envelope:
    payload = OrderCancelled(order_id=order.id, cluster_id=order.cluster_id,
                             buyer_firm_id=order.buyer_firm_id,
                             step_ids=[s.id for s in order.steps], reason=reason)
    return new_event(payload, key=order.cluster_id, producer=SERVICE, correlation_id=order.id)


def revise_order(
    cmd: ReviseOrder, uow: AbstractUnitOfWork, *, now: datetime | None = None
) -> tuple[Order, bool]:
    """Replaces the order by a revision with the changed terms, in one transaction: the old
    one is cancelled (order.cancelled, reason "revised as <id>", so capacity gives its holds
    back and the matcher drops its steps) and the new one submitted (order.submitted).
    Answers (new order, replayed); an Idempotency-Key seen before answers the revision it
    made. Raises OrderNotFound, NotRevisable, InvalidOrder or NothingToRevise."""
    fingerprint = _fingerprint({"revise": cmd.order_id, "changes": dict(cmd.changes)})
    try:
        return _revise(cmd, fingerprint, uow, now=now or utcnow())
    except DuplicateRecord:  # the same key, taken meanwhile by a request for another order
        logger.info("a concurrent request took Idempotency-Key %r first", cmd.idempotency_key)
        with uow:
            if (earlier := _earlier_order(cmd.buyer_firm_id, cmd.idempotency_key, fingerprint,
                                          uow)) is None:
                raise
            return earlier, True


def _revise(cmd: ReviseOrder, fingerprint: str, uow: AbstractUnitOfWork, *,
            now: datetime) -> tuple[Order, bool]:
    with uow:
        old = uow.orders.get(cmd.order_id, for_update=True)  # one revision at a time
        if old is None or old.buyer_firm_id != cmd.buyer_firm_id:
            raise OrderNotFound(cmd.order_id)
        if (earlier := _earlier_order(cmd.buyer_firm_id, cmd.idempotency_key, fingerprint,
                                      uow)) is not None:
            return earlier, True
        revised = old.revise(cmd.changes, buyer_clusters=cmd.buyer_clusters, now=now)
        uow.orders.save(old)
        uow.orders.add(revised)
        if cmd.idempotency_key is not None:
            uow.idempotency.add(IdempotencyRecord(
                cmd.buyer_firm_id, cmd.idempotency_key, fingerprint, revised.id))
        reason = f"revised as {revised.id}"
        cancelled, submitted = cancelled_event(old, reason=reason), submitted_event(revised)
        uow.publish(cancelled)
        uow.publish(submitted)
        uow.timeline.add_all([timeline.cancelled(old, cancelled, reason=reason),
                              timeline.submitted(revised, submitted)])
        uow.audit.add(AuditEntry(
            actor=cmd.buyer_firm_id, role="buyer", action="order.revised", object_type="order",
            object_id=old.id, at=cancelled.occurred_at,
            detail={"revised_as": revised.id, "changed": sorted(cmd.changes)}))
        uow.commit()
        return revised, False


# --- events -------------------------------------------------------------------------------------
def on_cluster_created(envelope: Envelope, event: ClusterCreated, uow: AbstractUnitOfWork) -> None:
    with uow:
        if uow.claim(SERVICE, envelope):
            uow.clusters.upsert(event.cluster_id, event.name)
            uow.commit()


def _proposed(event: AllocationProposed) -> Change:
    placements = [
        Placement(a.step_id, a.window_id, a.factory_id, hours=a.hours, price=a.price)
        for a in event.allocations
    ]
    return lambda o, now: o.propose(placements, now=now)


def _unplaced(event: StepUnplaced) -> Change:
    return lambda o, now: o.unplace(event.step_id, reason=event.reason, detail=event.detail,
                                    now=now)


def _held(event: ReservationHeld) -> Change:
    placement = Placement(event.step_id, event.window_id, event.factory_id, hours=event.hours,
                          price=event.price, reservation_id=event.reservation_id)
    return lambda o, now: o.hold(placement, now=now)


def _accepted(event: ReservationAccepted) -> Change:
    placement = Placement(event.step_id, event.window_id, event.factory_id, hours=event.hours,
                          price=event.price, factory_name=event.factory_name,
                          reservation_id=event.reservation_id)
    return lambda o, now: o.accept(placement, now=now)


def _rejected(event: ReservationRejected) -> Change:
    """Capacity refused the proposal: the step goes back to pending (unless capacity holds it
    through another proposal); the matcher re-plans it."""
    return lambda o, now: o.reject(event.step_id, window_id=event.window_id, now=now)


def _returned(event: ReservationDeclined | ReservationExpired) -> Change:
    """declined or expired: the step goes back to pending; the matcher re-plans it."""
    return lambda o, now: o.release(event.step_id, window_id=event.window_id, now=now)


def _started(event: ReservationStarted) -> Change:
    """The supplier began the step's work: in production (the order once all are accepted)."""
    return lambda o, now: o.start(event.step_id, window_id=event.window_id,
                                  at=event.started_at, now=now)


def _completed(event: ReservationCompleted) -> Change:
    """The supplier finished the step's work: completed (the order once all steps are)."""
    return lambda o, now: o.complete(event.step_id, window_id=event.window_id,
                                     started_at=event.started_at, at=event.completed_at,
                                     now=now)


def _released(event: ReservationReleased) -> None:
    """Capacity gave a hold or acceptance back after order.cancelled: timeline only."""
    return None


Change = Callable[[Order, datetime], Outcome]
OrderEvent = (AllocationProposed | StepUnplaced | ReservationHeld | ReservationAccepted
              | ReservationRejected | ReservationDeclined | ReservationExpired
              | ReservationReleased | ReservationStarted | ReservationCompleted)

# An event about one order → the change it makes to that order (None: timeline only).
ORDER_CHANGES: dict[type[EventPayload], Callable[[Any], Change | None]] = {
    AllocationProposed: _proposed,
    AllocationProposedV2: _proposed,  # v1 plus the jobs, which are for the supplier
    AllocationProposedV3: _proposed,  # v2 plus the jobs' steps and their order
    StepUnplaced: _unplaced,
    ReservationHeld: _held,
    ReservationAccepted: _accepted,
    ReservationRejected: _rejected,
    ReservationDeclined: _returned,
    ReservationExpired: _returned,
    ReservationReleased: _released,
    ReservationStarted: _started,
    ReservationCompleted: _completed,
}


def apply_order_events(
    events: Sequence[tuple[Envelope, OrderEvent]], uow: AbstractUnitOfWork
) -> None:
    """Apply each event's change to its order (in the given sequence) and add it to the order's
    timeline, with the inbox rows, in one transaction: the orders are read once, with one
    query, and each changed one is written once — however many of the events touch it."""
    with uow:
        fresh = []
        claims = uow.claim_all(SERVICE, [envelope for envelope, _ in events])
        for (envelope, event), claimed in zip(events, claims, strict=True):
            if claimed:
                fresh.append((envelope, event))
            else:
                logger.info("%s %s applied before; skipped", envelope.type, envelope.event_id)
        orders = uow.orders.get_many({event.order_id for _, event in fresh}, for_update=True)
        changed: dict[str, Order] = {}
        entries = []
        for envelope, event in fresh:
            order = orders.get(event.order_id)
            if order is None:
                logger.warning("%s %s names unknown order %s; ignored",
                               envelope.type, envelope.event_id, event.order_id)
                continue
            change = ORDER_CHANGES[type(event)](event)
            outcome = change(order, utcnow()) if change is not None else Outcome()
            for step_id, why in outcome.ignored.items():
                logger.warning("%s %s: step %s of order %s ignored: %s",
                               envelope.type, envelope.event_id, step_id, order.id, why)
            if outcome.changed:
                changed[order.id] = order
            entries.append(timeline.consumed(envelope, event, order_id=order.id,
                                             ignored=outcome.ignored))
        uow.orders.save_all(list(changed.values()))
        uow.timeline.add_all(entries)
        uow.commit()  # the inbox rows, even when nothing else changed


def on_order_event(envelope: Envelope, event: OrderEvent, uow: AbstractUnitOfWork) -> None:
    apply_order_events([(envelope, event)], uow)


EventHandler = Callable[[Envelope, Any, AbstractUnitOfWork], None]

# Every other event type (window.*, factory.*, match_run.completed, ...) is not for orders.
EVENT_HANDLERS: dict[type[EventPayload], EventHandler] = {
    ClusterCreated: on_cluster_created,
    **dict.fromkeys(ORDER_CHANGES, on_order_event),
}
