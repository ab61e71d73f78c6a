"""The hold-expiry loop: every ``interval_s``, holds whose time is up become expired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.capacity.service_layer.releases import EXPIRY_BATCH, expire_due_holds
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork
from shared.background import PeriodicWorker, drain


class HoldExpiry(PeriodicWorker):
    """A daemon thread run by the service's runtime; tests call ``tick`` directly."""

    thread_name = "capacity-hold-expiry"

    def __init__(self, *, uow_factory: Callable[[], CapacityUnitOfWork],
                 interval_s: float) -> None:
        super().__init__(interval_s=interval_s)
        self._uow_factory = uow_factory

    def tick(self, now: datetime | None = None) -> int:
        """Expire every due hold (in batches); returns how many expired."""
        return drain(lambda: expire_due_holds(self._uow_factory(), now=now, limit=EXPIRY_BATCH),
                     size=EXPIRY_BATCH)
