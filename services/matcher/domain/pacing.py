"""How long one match run of the planning loop may solve.

A run that solves longer than the next full batch takes to arrive makes every step behind it
wait a whole run more. So the loop's runs are paced: a run solves for the configured time
limit, or only until ``full_batch`` more steps will be waiting, at the rate steps arrived in
its cluster since the loop last read it (``arrivals``); for ``MIN_RUN_S`` when a full batch
already waits behind this run's. Under steady load that makes runs of about
``full_batch / rate`` seconds, back to back; a quiet cluster gets the whole limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.matcher.domain.readmodel import QueuedOrder

MIN_RUN_S = 0.1  # a paced run's least solve time: the greedy's plan and a short search


@dataclass(frozen=True)
class Arrivals:
    """Steps that arrived in a cluster over ``over_s`` seconds (none: no rate measured), and
    the steps a run leaves waiting."""

    steps: int
    over_s: float
    left_waiting: int


def arrivals(queue: Sequence[QueuedOrder], chosen: Iterable[str], *, since: datetime,
             now: datetime) -> Arrivals:
    """From a run's queue: how fast steps arrived since ``since`` (the loop's last read of the
    cluster), and the open steps of the orders the run did not choose.

    The rate is that of the orders submitted after ``since``: the open steps of all but the
    first, over the time from the first one to ``now``. A quiet spell before the first does
    not dilute it, and one lone order measures no rate at all. Orders submitted before
    ``since`` (planned again after a decline, say) did not just arrive and are left out."""
    taken = set(chosen)
    left = sum(q.open_steps for q in queue if q.order_id not in taken)
    fresh = sorted((q.submitted_at, q.order_id, q.open_steps) for q in queue
                   if q.submitted_at is not None and q.submitted_at > since)
    if len(fresh) < 2:
        return Arrivals(steps=0, over_s=0.0, left_waiting=left)
    (first_at, _, _), *rest = fresh
    return Arrivals(steps=sum(steps for _, _, steps in rest),
                    over_s=(now - first_at).total_seconds(), left_waiting=left)


def run_time_limit(limit_s: float, *, full_batch: int, seen: Arrivals) -> float:
    """The solve time of a run: ``limit_s``, or the time until a full batch waits again."""
    floor = min(limit_s, MIN_RUN_S)
    if seen.left_waiting >= full_batch:
        return floor
    if seen.steps <= 0 or seen.over_s <= 0:
        return limit_s
    fill_s = (full_batch - seen.left_waiting) * seen.over_s / seen.steps
    return max(floor, min(limit_s, fill_s))
