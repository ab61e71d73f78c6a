"""Event dispatch for the Kafka consumer: (envelope, payload) → the handler of its type."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from services.orders.service_layer.handlers import (
    EVENT_HANDLERS,
    ORDER_CHANGES,
    apply_order_events,
)
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork
from shared.events import Envelope, EventPayload
from shared.logs import correlation_id

logger = logging.getLogger(__name__)


class EventHandler:
    """The consumer's handler: (envelope, payload) → the handler of its type, in a unit of work
    of its own; ``many`` applies a group of events in one. Raises when an event cannot be applied
    (retried, then DLQ)."""

    def __init__(self, uow_factory: Callable[[], AbstractUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    def __call__(self, envelope: Envelope, payload: EventPayload) -> None:
        self._dispatch(envelope, payload, self._uow_factory())

    def many(self, events: Sequence[tuple[Envelope, EventPayload]]) -> None:
        """Runs of events about orders are applied together (``apply_order_events``: each order
        read and written once); any other event on its own, in sequence, all in one
        transaction."""
        uow = self._uow_factory()
        run: list[tuple[Envelope, Any]] = []
        with uow.together():
            for envelope, payload in events:
                if type(payload) in ORDER_CHANGES:
                    run.append((envelope, payload))
                    continue
                if run:
                    apply_order_events(run, uow)
                    run = []
                self._dispatch(envelope, payload, uow)
            if run:
                apply_order_events(run, uow)

    @staticmethod
    def _dispatch(envelope: Envelope, payload: EventPayload, uow: AbstractUnitOfWork) -> None:
        handler = EVENT_HANDLERS.get(type(payload))
        if handler is None:
            logger.debug("%s %s is not for orders; ignored", envelope.type, envelope.event_id)
            return
        token = correlation_id.set(envelope.correlation_id or str(envelope.event_id))
        try:
            handler(envelope, payload, uow)
        finally:
            correlation_id.reset(token)


def make_event_handler(uow_factory: Callable[[], AbstractUnitOfWork]) -> EventHandler:
    return EventHandler(uow_factory)
