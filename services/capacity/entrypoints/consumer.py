"""Incoming events → service-layer handlers. Types without a handler are ignored (no error)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from services.capacity.service_layer.handlers import EVENT_HANDLERS
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork
from shared.events import Envelope, EventPayload
from shared.logs import correlation_id

logger = logging.getLogger(__name__)


class EventHandler:
    """The consumer's handler: (envelope, payload) → the handler of its type, in a unit of work
    of its own; ``many`` applies a group of events in one."""

    def __init__(self, uow_factory: Callable[[], CapacityUnitOfWork], *,
                 hold_ttl: timedelta) -> None:
        self._uow_factory = uow_factory
        self._hold_ttl = hold_ttl

    def __call__(self, envelope: Envelope, payload: EventPayload) -> None:
        self._dispatch(envelope, payload, self._uow_factory())

    def many(self, events: Sequence[tuple[Envelope, EventPayload]]) -> None:
        uow = self._uow_factory()
        with uow.together():
            for envelope, payload in events:
                self._dispatch(envelope, payload, uow)

    def _dispatch(self, envelope: Envelope, payload: EventPayload,
                  uow: CapacityUnitOfWork) -> None:
        handler = EVENT_HANDLERS.get(type(payload))
        if handler is None:
            logger.debug("ignoring %s %s", envelope.type, envelope.event_id)
            return
        token = correlation_id.set(envelope.correlation_id or "-")
        try:
            handler(payload, uow, envelope=envelope, hold_ttl=self._hold_ttl)
        finally:
            correlation_id.reset(token)


def make_event_handler(
    uow_factory: Callable[[], CapacityUnitOfWork], *, hold_ttl: timedelta
) -> EventHandler:
    return EventHandler(uow_factory, hold_ttl=hold_ttl)
