"""Hours given back: holds nobody answered in time, and every reservation of a cancelled order."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from services.capacity.domain.releasing import Released, expire_holds, release_order
from services.capacity.domain.windows import Window
from services.capacity.service_layer import messages
from services.capacity.service_layer.base import CONSUMER, retry_on_conflict
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork
from shared.events import Envelope
from shared.events.payloads import OrderCancelled

logger = logging.getLogger(__name__)

EXPIRY_BATCH = 500


@retry_on_conflict
def expire_due_holds(uow: CapacityUnitOfWork, *, now: datetime | None = None,
                     limit: int = EXPIRY_BATCH) -> int:
    """Expire up to ``limit`` holds whose time is up (reservation.expired each); how many."""
    at = now or datetime.now(UTC)
    with uow:
        due = uow.reservations.due_holds(at, limit=limit)
        if not due:
            return 0
        windows = uow.windows.get_many({r.window_id for r in due}, lock=True)
        released = expire_holds(due, windows=windows, now=at)
        _store(uow, released, windows.values())
        for item in released:
            uow.publish(messages.reservation_expired(item.reservation))
        uow.commit()
    logger.info("%d holds expired", len(released))
    return len(released)


@retry_on_conflict
def release_cancelled_order(
    cancelled: OrderCancelled,
    uow: CapacityUnitOfWork,
    *,
    envelope: Envelope,
    hold_ttl: timedelta | None = None,  # unused: every event handler is called with it
    now: datetime | None = None,
) -> None:
    """order.cancelled: release its held and accepted reservations; refuse later proposals."""
    at = now or datetime.now(UTC)
    cause = str(envelope.event_id)
    with uow:
        if not uow.claim(CONSUMER, envelope):
            logger.info("order.cancelled %s was applied before; skipped", cause)
            return
        uow.orders.lock(cancelled.order_id, cluster_id=cancelled.cluster_id)
        uow.orders.cancel(cancelled.order_id, at=at, reason=cancelled.reason)
        active = uow.reservations.active_for_order(cancelled.order_id, lock=True)
        windows = uow.windows.get_many({r.window_id for r in active}, lock=True)
        released = release_order(active, windows=windows, now=at)
        _store(uow, released, windows.values())
        for item in released:
            uow.publish(messages.reservation_released(item.reservation, causation_id=cause))
        uow.commit()
    logger.info("order %s cancelled: %d reservations released", cancelled.order_id,
                len(released))


def _store(uow: CapacityUnitOfWork, released: list[Released], windows: Iterable[Window]) -> None:
    for window in sorted(windows, key=lambda w: w.id):
        uow.windows.save_hours(window)
    for item in released:
        uow.reservations.save_status(item.reservation, expected=item.was)
