"""The hold-expiry loop: every ``interval_s``, holds whose time is up become expired."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from services.capacity.service_layer.releases import EXPIRY_BATCH, expire_due_holds
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork
from shared.background import BackgroundWorker

logger = logging.getLogger(__name__)


class HoldExpiry(BackgroundWorker):
    """A daemon thread run by the service's runtime; tests call ``tick`` directly."""

    thread_name = "capacity-hold-expiry"

    def __init__(self, *, uow_factory: Callable[[], CapacityUnitOfWork],
                 interval_s: float) -> None:
        super().__init__()
        self._uow_factory = uow_factory
        self._interval_s = interval_s

    def tick(self, now: datetime | None = None) -> int:
        """Expire every due hold (in batches); returns how many expired."""
        total = 0
        while True:
            expired = expire_due_holds(self._uow_factory(), now=now, limit=EXPIRY_BATCH)
            total += expired
            if expired < EXPIRY_BATCH:
                return total

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.tick()
            except Exception:  # the loop must outlive a database hiccup
                logger.exception("hold expiry failed; retrying next interval")
