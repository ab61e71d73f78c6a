"""The planning loop: every ``interval_s`` one match run per cluster with pending steps that
this instance owns, and at once for a cluster where ``full_batch_steps`` pending steps wait.
Each run of the loop is paced (``domain/pacing.py``): it solves only until the next full
batch waits, measured from the steps that arrived since the loop's previous read of its
cluster, so under load the runs stay short and follow each other.

Scale-out: matcher instances share one consumer group, so each cluster (the event key) is
consumed, and planned, by the one instance holding its partition. ``owns(cluster_id)`` says
whether this instance holds that partition in every topic it reads and has caught up on it;
``partition_owner`` builds it from the event consumer's assignment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol

from services.matcher.domain.runs import BATCH_FULL, INTERVAL
from services.matcher.service_layer.planning import PlanningOptions, plan_cluster
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.background import BackgroundWorker
from shared.messaging.partitions import Assignment

logger = logging.getLogger(__name__)

NEVER = datetime.min.replace(tzinfo=UTC)  # a cluster's first run: every waiting order is new


class _HasAssignment(Protocol):
    assignment: Assignment | None


def partition_owner(consumer: Callable[[], _HasAssignment | None]) -> Callable[[str], bool]:
    """``owns(cluster_id)``: without a consumer (no broker; tests) every cluster is ours;
    with one, a cluster is ours while its partition is assigned and caught up."""

    def owns(cluster_id: str) -> bool:
        c = consumer()
        if c is None:
            return True
        assignment = c.assignment
        return assignment is not None and assignment.holds_key(cluster_id)

    return owns


class PlanningLoop(BackgroundWorker):
    """A daemon thread run by the service's runtime."""

    thread_name = "matcher-planner"

    def __init__(self, *, uow_factory: Callable[[], UnitOfWork], options: PlanningOptions,
                 interval_s: float, owns: Callable[[str], bool] | None = None) -> None:
        super().__init__()
        self._uow_factory = uow_factory
        self._options = options
        self._interval_s = interval_s
        self._owns = owns or (lambda _cluster_id: True)
        self._wake = threading.Event()
        self._nudged: set[str] = set()
        self._nudged_lock = threading.Lock()
        self._running = threading.Lock()  # held during a run: hand-over waits for it
        self._last_read: dict[str, datetime] = {}  # cluster → when its last run read it
        self.runs = 0

    def nudge(self, cluster_id: str) -> None:
        """An event changed ``cluster_id``: plan it now if a full batch waits there."""
        with self._nudged_lock:
            self._nudged.add(cluster_id)
        self._wake.set()

    def tick(self) -> int:
        """Plan every owned cluster with pending steps once; returns how many runs were made."""
        with self._uow_factory() as uow:
            clusters = uow.read_model.clusters_with_pending()
        return self._plan(clusters, trigger=INTERVAL)

    def plan_full_batches(self) -> int:
        """Plan the nudged clusters where at least ``full_batch_steps`` pending steps wait."""
        with self._nudged_lock:
            nudged, self._nudged = sorted(self._nudged), set()
        if not nudged:
            return 0
        with self._uow_factory() as uow:
            full = [c for c in nudged
                    if uow.read_model.pending_count(c) >= self._options.full_batch_steps]
        return self._plan(full, trigger=BATCH_FULL)

    def quiesce(self, timeout_s: float = 30.0) -> bool:
        """Wait until no run is in progress (ownership was withdrawn before, so none starts)."""
        if not self._running.acquire(timeout=timeout_s):
            return False
        self._running.release()
        return True

    def _plan(self, clusters: Iterable[str], *, trigger: str) -> int:
        done = 0
        for cid in clusters:
            with self._running:
                if not self._owns(cid):
                    continue
                now = datetime.now(UTC)
                since, self._last_read[cid] = self._last_read.get(cid, NEVER), now
                try:
                    plan_cluster(cid, uow=self._uow_factory(), options=self._options,
                                 trigger=trigger, now=now, paced_since=since)
                    done += 1
                except Exception:  # one failing cluster does not stop the others
                    logger.exception("planning cluster %s failed", cid)
        self.runs += done
        return done

    def _interrupt(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        next_tick = time.monotonic() + self._interval_s
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_tick - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self._interval_s
                    with self._nudged_lock:
                        self._nudged.clear()
                    self.tick()
                else:
                    self.plan_full_batches()
            except Exception:  # the loop must outlive a database hiccup
                logger.exception("planning loop failed; retrying next interval")


def flush_outbox(unpublished: Callable[[], int], wake: Callable[[], None], *,
                 timeout_s: float = 10.0) -> bool:
    """Wake the relay until the outbox is empty (a hand-over publishes what runs proposed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if unpublished() == 0:
            return True
        wake()
        time.sleep(0.05)
    return False
