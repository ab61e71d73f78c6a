"""Events in: (envelope, payload, position=…) → the service layer's handler, in its own unit of
work; then, if the event changed the read model, ``on_applied(cluster_id)`` (the planning
loop's wake-up for a cluster whose pending steps may fill a batch)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.matcher.service_layer import handlers
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.events import Envelope, EventPayload
from shared.logs import correlation_id


class EventHandler:
    """(envelope, payload, position=…) → ``handlers.handle_event`` in a unit of work of its
    own; ``many`` applies a group of events (with their positions) in one."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], *,
                 on_applied: Callable[[str], None] | None = None) -> None:
        self._uow_factory = uow_factory
        self._on_applied = on_applied

    def __call__(self, envelope: Envelope, payload: EventPayload, *,
                 position: handlers.Position | None = None) -> None:
        if self._apply(envelope, payload, self._uow_factory(), position):
            self._wake({payload.cluster_id})

    def many(self, events: Sequence[tuple[Envelope, EventPayload, handlers.Position]]) -> None:
        uow, changed = self._uow_factory(), set()
        last = {(p.topic, p.partition): n for n, (_, _, p) in enumerate(events)}
        with uow.together():
            # this service's own runs' proposals and unplaced steps, read back, apply nothing
            stored = handlers.stored_runs([p for _, p, _ in events], uow)
            applies = [handlers.applies(p, stored) for _, p, _ in events]
            # the group's inbox claims in one statement
            claims = iter(handlers.claim_all(
                [e for (e, _, _), a in zip(events, applies, strict=True) if a], uow))
            handlers.prefetch_steps(
                [p for (_, p, _), a in zip(events, applies, strict=True) if a], uow)
            for n, (envelope, payload, position) in enumerate(events):
                # one offset per partition: the group's last (committed with all the others)
                mine = position if last[(position.topic, position.partition)] == n else None
                claimed = next(claims) if applies[n] else None
                if self._apply(envelope, payload, uow, mine, claimed, skip=not applies[n]):
                    changed.add(payload.cluster_id)
        self._wake(changed)  # after the commit: the planning loop reads what was applied

    @staticmethod
    def _apply(envelope: Envelope, payload: EventPayload, uow: UnitOfWork,
               position: handlers.Position | None, claimed: bool | None = None,
               *, skip: bool = False) -> bool:
        token = correlation_id.set(envelope.correlation_id or str(envelope.event_id))
        try:
            return handlers.handle_event(envelope, payload, uow=uow, position=position,
                                         claimed=claimed, skip=skip)
        finally:
            correlation_id.reset(token)

    def _wake(self, clusters: set[str]) -> None:
        if self._on_applied is not None:
            for cluster_id in sorted(clusters):
                self._on_applied(cluster_id)


def make_event_handler(uow_factory: Callable[[], UnitOfWork], *,
                       on_applied: Callable[[str], None] | None = None) -> EventHandler:
    return EventHandler(uow_factory, on_applied=on_applied)
