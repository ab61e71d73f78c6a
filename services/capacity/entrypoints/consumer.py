"""Incoming events → service-layer handlers. Types without a handler are ignored (no error)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from services.capacity.service_layer.handlers import EVENT_HANDLERS
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork
from shared.events import Envelope, EventPayload
from shared.logs import correlation_id

logger = logging.getLogger(__name__)


def make_event_handler(
    uow_factory: Callable[[], CapacityUnitOfWork], *, hold_ttl: timedelta
) -> Callable[[Envelope, EventPayload], None]:
    def handle(envelope: Envelope, payload: EventPayload) -> None:
        handler = EVENT_HANDLERS.get(type(payload))
        if handler is None:
            logger.debug("ignoring %s %s", envelope.type, envelope.event_id)
            return
        token = correlation_id.set(envelope.correlation_id or "-")
        try:
            handler(payload, uow_factory(), envelope=envelope, hold_ttl=hold_ttl)
        finally:
            correlation_id.reset(token)

    return handle
