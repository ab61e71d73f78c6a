"""What every handler shares: retries on lost races, and finding objects the caller may see."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.capacity.domain.errors import NotFound
from services.capacity.domain.model import Actor, Factory, Machine
from services.capacity.domain.reservations import Reservation, StepHold, completed_steps
from services.capacity.domain.windows import Window
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork, ConcurrentUpdate

logger = logging.getLogger(__name__)

CONSUMER = "capacity"  # the inbox name of this service's event handlers
MAX_ATTEMPTS = 30
F = TypeVar("F", bound=Callable[..., Any])


def retry_on_conflict(handler: F) -> F:
    """Run the whole handler again (fresh state) when the store reports a concurrent update."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return handler(*args, **kwargs)
            except ConcurrentUpdate as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                logger.info("%s: concurrent update (%s); retry %d", handler.__name__, exc,
                            attempt)
                time.sleep(random.uniform(0, 0.005 * attempt))  # jitter
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


@dataclass
class ReservationRead(Reservation):
    """A reservation as its supplier reads it: with the keys of the order's steps its work
    still waits for (empty once it may start, and once it started or ended), and of those
    that have no factory now (while its hours are held or accepted and not done)."""

    waiting_for: list[str] = field(default_factory=list)
    steps_without_factory: list[str] = field(default_factory=list)


def step_holds(uow: CapacityUnitOfWork, reservations: Sequence[Reservation]
               ) -> dict[str, list[StepHold]]:
    """Order id → the latest reservation of each of its steps, for the orders of those
    ``reservations`` whose hours are held or accepted and not done: what their work waits
    for and which steps have no factory are read from it (one query; none when there are no
    such reservations)."""
    return uow.reservations.latest_step_holds(
        {r.order_id for r in reservations if r.is_active and r.completed_at is None})


def as_read(uow: CapacityUnitOfWork, reservations: Sequence[Reservation],
            holds: dict[str, list[StepHold]] | None = None) -> list[ReservationRead]:
    """``reservations`` with what each waits for and which of its order's steps have no
    factory now, from ``holds`` (``step_holds``, read here when not given)."""
    holds = step_holds(uow, reservations) if holds is None else holds
    return [ReservationRead(**vars(r), waiting_for=r.awaited_steps(completed_steps(latest)),
                            steps_without_factory=r.steps_without_factory(latest))
            for r in reservations for latest in [holds.get(r.order_id, [])]]


def owned_factory(uow: CapacityUnitOfWork, actor: Actor, factory_id: str, *,
                  lock: bool = False) -> Factory:
    """The factory in service, if ``actor`` may see it (404 otherwise, never revealing that
    it exists; a retired factory is gone but for its reservations)."""
    factory = uow.factories.get(factory_id, lock=lock)
    if factory is None or factory.retired_at is not None or not factory.is_visible_to(actor):
        raise NotFound("factory", factory_id)
    return factory


def visible_machine(uow: CapacityUnitOfWork, actor: Actor, machine_id: str) -> Machine:
    """The machine, if ``actor`` may see its factory (404 otherwise)."""
    machine = uow.machines.get(machine_id)
    factory = machine and uow.factories.get(machine.factory_id)
    if (machine is None or factory is None or factory.retired_at is not None
            or not factory.is_visible_to(actor)):
        raise NotFound("machine", machine_id)
    return machine


def visible_window(uow: CapacityUnitOfWork, actor: Actor, window_id: str) -> Window:
    """The open window, if ``actor`` may see its factory (404 otherwise)."""
    window = uow.windows.get(window_id)
    factory = window and uow.factories.get(window.factory_id)
    if window is None or factory is None or not factory.is_visible_to(actor):
        raise NotFound("window", window_id)
    return window
