"""The planning loop: every ``interval_s`` one match run per cluster with pending steps."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.matcher.service_layer.planning import PlanningOptions, plan_pending
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.background import BackgroundWorker

logger = logging.getLogger(__name__)


class PlanningLoop(BackgroundWorker):
    """A daemon thread run by the service's runtime."""

    thread_name = "matcher-planner"

    def __init__(self, *, uow_factory: Callable[[], UnitOfWork], options: PlanningOptions,
                 interval_s: float) -> None:
        super().__init__()
        self._uow_factory = uow_factory
        self._options = options
        self._interval_s = interval_s
        self.runs = 0

    def tick(self) -> int:
        """Plan every cluster with pending steps once; returns how many runs were made."""
        done = plan_pending(uow=self._uow_factory(), options=self._options)
        self.runs += len(done)
        return len(done)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.tick()
            except Exception:  # the loop must outlive a database hiccup
                logger.exception("planning loop failed; retrying next interval")
