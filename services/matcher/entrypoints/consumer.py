"""Events in: (envelope, payload) → the service layer's handler, in its own unit of work."""

from __future__ import annotations

from collections.abc import Callable

from services.matcher.service_layer import handlers
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.events import Envelope, EventPayload
from shared.logs import correlation_id

Handler = Callable[[Envelope, EventPayload], None]


def make_event_handler(uow_factory: Callable[[], UnitOfWork]) -> Handler:
    def handle(envelope: Envelope, payload: EventPayload) -> None:
        token = correlation_id.set(envelope.correlation_id or str(envelope.event_id))
        try:
            handlers.handle_event(envelope, payload, uow=uow_factory())
        finally:
            correlation_id.reset(token)

    return handle
