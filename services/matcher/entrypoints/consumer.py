"""Events in: (envelope, payload, position=…) → the service layer's handler, in its own unit of
work; then, if the event changed the read model, ``on_applied(cluster_id)`` (the planning
loop's wake-up for a cluster whose pending steps may fill a batch)."""

from __future__ import annotations

from collections.abc import Callable

from services.matcher.service_layer import handlers
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.events import Envelope, EventPayload
from shared.logs import correlation_id

Handler = Callable[..., None]


def make_event_handler(uow_factory: Callable[[], UnitOfWork], *,
                       on_applied: Callable[[str], None] | None = None) -> Handler:
    def handle(envelope: Envelope, payload: EventPayload, *,
               position: handlers.Position | None = None) -> None:
        token = correlation_id.set(envelope.correlation_id or str(envelope.event_id))
        try:
            applied = handlers.handle_event(envelope, payload, uow=uow_factory(),
                                            position=position)
        finally:
            correlation_id.reset(token)
        if applied and on_applied is not None:
            on_applied(payload.cluster_id)

    return handle
