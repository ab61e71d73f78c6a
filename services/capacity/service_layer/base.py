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
from services.capacity.domain.reservations import Reservation
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


def completed_steps(uow: CapacityUnitOfWork, reservations: Sequence[Reservation]
                    ) -> dict[str, set[str]]:
    """Order id → its completed steps, for the orders of those ``reservations`` whose work
    waits for any step (one query; none when no reservation waits)."""
    return uow.reservations.completed_steps(
        {r.order_id for r in reservations if r.awaited_steps(())})


def as_read(uow: CapacityUnitOfWork, reservations: Sequence[Reservation]
            ) -> list[ReservationRead]:
    """``reservations`` with what each waits for and which of its order's steps have no
    factory now: a query for each, for all their orders at once (none when no reservation
    needs it)."""
    done = completed_steps(uow, reservations)
    latest = uow.reservations.latest_step_holds(
        {r.order_id for r in reservations if r.is_active and r.completed_at is None})
    return [ReservationRead(**vars(r), waiting_for=r.awaited_steps(done.get(r.order_id, ())),
                            steps_without_factory=r.steps_without_factory(
                                latest.get(r.order_id, ())))
            for r in reservations]


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
