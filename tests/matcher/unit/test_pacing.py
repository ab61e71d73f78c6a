"""Pacing: a run of the planning loop solves only until the next full batch waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.matcher.domain.pacing import MIN_RUN_S, Arrivals, arrivals, run_time_limit
from services.matcher.domain.readmodel import QueuedOrder
from services.matcher.entrypoints.planner import PlanningLoop
from services.matcher.service_layer import planning
from services.matcher.solver.solve import SolverOptions
from tests.matcher import events as e
from tests.matcher.unit.conftest import OPTIONS, feed
from tests.matcher.unit.fakes import FakeUnitOfWork

AT = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _queued(order_id: str, steps: int, submitted_s_ago: float | None) -> QueuedOrder:
    return QueuedOrder(order_id=order_id, priority=1, due=AT + timedelta(days=7),
                       open_steps=steps, submitted_at=None if submitted_s_ago is None
                       else AT - timedelta(seconds=submitted_s_ago))


def test_arrivals_are_the_steps_after_the_first_new_order_over_the_time_since_it() -> None:
    queue = [_queued("ord-new", 3, 0.2), _queued("ord-first", 2, 0.5),
             _queued("ord-replanned", 4, 3600), _queued("ord-unknown-time", 1, None)]
    # the last read was 10 s ago, but the first new order came 0.5 s ago: 3 steps since then;
    # an order re-planned from long ago did not arrive now; one without a time is not counted
    seen = arrivals(queue, ["ord-new", "ord-replanned"], since=AT - timedelta(seconds=10),
                    now=AT)
    assert seen == Arrivals(steps=3, over_s=0.5, left_waiting=3)


def test_one_new_order_measures_no_rate() -> None:
    seen = arrivals([_queued("ord-1", 4, 0.001)], ["ord-1"], since=AT - timedelta(seconds=1),
                    now=AT)
    assert seen == Arrivals(steps=0, over_s=0.0, left_waiting=0)
    assert run_time_limit(2.0, full_batch=100, seen=seen) == 2.0


@pytest.mark.parametrize(("seen", "limit"), [
    (Arrivals(steps=250, over_s=1.0, left_waiting=0), 0.4),  # 100 more steps in 0.4 s
    (Arrivals(steps=250, over_s=1.0, left_waiting=50), 0.2),  # half a batch already waits
    (Arrivals(steps=10, over_s=2.0, left_waiting=0), 2.0),  # a quiet cluster: the limit
    (Arrivals(steps=0, over_s=2.0, left_waiting=0), 2.0),  # nothing arrived
    (Arrivals(steps=5000, over_s=1.0, left_waiting=0), MIN_RUN_S),  # a burst: the least
    (Arrivals(steps=0, over_s=5.0, left_waiting=100), MIN_RUN_S),  # a full batch waits behind
])
def test_a_run_solves_until_the_next_full_batch_waits(seen: Arrivals, limit: float) -> None:
    assert run_time_limit(2.0, full_batch=100, seen=seen) == pytest.approx(limit)


def test_pacing_never_gives_more_than_the_configured_limit() -> None:
    busy = Arrivals(steps=0, over_s=1.0, left_waiting=500)
    assert run_time_limit(0.05, full_batch=100, seen=busy) == 0.05
    assert run_time_limit(0.05, full_batch=100,
                          seen=Arrivals(steps=1, over_s=60.0, left_waiting=0)) == 0.05


def _time_limits(uow: FakeUnitOfWork) -> list[float]:
    runs = sorted((r for r, _, _ in uow.runs.runs.values()), key=lambda r: r.started_at)
    return [r.parameters["time_limit_s"] for r in runs]


def test_the_loop_paces_its_runs_by_the_steps_that_arrived_since_its_last_read() -> None:
    uow = FakeUnitOfWork()
    feed(uow, *e.walkthrough(e.default_t0()))
    options = planning.PlanningOptions(
        params=OPTIONS.params, max_steps=500, full_batch_steps=2,
        solver_options=SolverOptions(time_limit_s=2.0, threads=1))
    planner = PlanningLoop(uow_factory=lambda: uow, options=options, interval_s=60)
    assert planner.tick() == 1  # one order: no arrival rate to measure
    # three steps in the few milliseconds since: two more would wait long before 2 s
    feed(uow, *[e.order_submitted(e.default_t0(), f"ord-{k}", step_ids=(f"stp-{k}",))
                for k in (2, 3, 4)])
    assert planner.tick() == 1
    assert _time_limits(uow) == [2.0, MIN_RUN_S]  # what each run solved with (and replays)


def test_runs_outside_the_loop_are_not_paced() -> None:
    uow = FakeUnitOfWork()
    feed(uow, *e.walkthrough(e.default_t0()))
    options = planning.PlanningOptions(
        params=OPTIONS.params, full_batch_steps=1,
        solver_options=SolverOptions(time_limit_s=2.0, threads=1))
    for k in (2, 3):
        feed(uow, e.order_submitted(e.default_t0(), f"ord-{k}", step_ids=(f"stp-{k}",)))
        planning.plan_cluster(e.CLUSTER, uow=uow, options=options, trigger="manual")
    assert _time_limits(uow) == [2.0, 2.0]


def test_a_clusters_first_run_measures_the_arrivals_of_its_whole_queue() -> None:
    uow = FakeUnitOfWork()
    feed(uow, *e.walkthrough(e.default_t0()),
         *[e.order_submitted(e.default_t0(), f"ord-{k}") for k in (2, 3)])
    options = planning.PlanningOptions(
        params=OPTIONS.params, full_batch_steps=2,
        solver_options=SolverOptions(time_limit_s=2.0, threads=1))
    assert PlanningLoop(uow_factory=lambda: uow, options=options, interval_s=60).tick() == 1
    assert _time_limits(uow) == [MIN_RUN_S]  # three orders within moments: a busy cluster
