"""Event dispatch for the Kafka consumer: (envelope, payload) → the handler of its type."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.orders.service_layer.handlers import EVENT_HANDLERS
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork
from shared.events import Envelope, EventPayload
from shared.logs import correlation_id

logger = logging.getLogger(__name__)


def make_event_handler(
    uow_factory: Callable[[], AbstractUnitOfWork],
) -> Callable[[Envelope, EventPayload], None]:
    """The consumer's handler; raises when an event cannot be applied (retried, then DLQ)."""

    def handle(envelope: Envelope, payload: EventPayload) -> None:
        handler = EVENT_HANDLERS.get(type(payload))
        if handler is None:
            logger.debug("%s %s is not for orders; ignored", envelope.type, envelope.event_id)
            return
        token = correlation_id.set(envelope.correlation_id or str(envelope.event_id))
        try:
            handler(envelope, payload, uow_factory())
        finally:
            correlation_id.reset(token)

    return handle
