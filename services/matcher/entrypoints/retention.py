"""The thread that deletes old match-run inputs (``service_layer/retention.py``) at start and
then every ``RETENTION_INTERVAL_S``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.matcher.service_layer.retention import prune_run_inputs
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.background import PeriodicWorker

logger = logging.getLogger(__name__)


class RunInputRetention(PeriodicWorker):
    thread_name = "matcher-retention"

    def __init__(self, *, uow_factory: Callable[[], UnitOfWork], days: float, interval_s: float,
                 on_pruned: Callable[[int], None]) -> None:
        super().__init__(interval_s=interval_s, tick_at_start=True)
        self._uow_factory = uow_factory
        self._days = days
        self._on_pruned = on_pruned

    def tick(self) -> int:
        pruned = prune_run_inputs(self._uow_factory, days=self._days,
                                  stopping=self._stop.is_set)
        if pruned:
            self._on_pruned(pruned)
            logger.info("retention: the input of %d match runs deleted", pruned)
        return pruned
