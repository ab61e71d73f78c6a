"""One match run: plan a cluster's pending steps and record the outcome.

The run loads the open steps and free windows of the cluster (one short transaction), runs the
optimiser (``solver/solve.py``; or the greedy if configured) with no transaction open, then in
a second transaction, if the cluster did not change meanwhile (``_run``), stores the run (with
its input as a scenario, for replay), marks steps proposed or unplaced and writes the events:
one ``allocation.proposed`` per placed order, one ``step.unplaced`` per unplaced step, and
``match_run.completed``.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.matcher.domain import pacing
from services.matcher.domain.model import Instance, Parameters, Plan
from services.matcher.domain.readmodel import StepState, build_instance, select_batch
from services.matcher.domain.runs import INTERVAL, MatchRun
from services.matcher.domain.scenario import to_scenario
from services.matcher.service_layer.unit_of_work import UnitOfWork
from services.matcher.solver import greedy
from services.matcher.solver import solve as optimiser
from services.matcher.solver.solve import SolverOptions
from shared.events import new_event
from shared.events import payloads as ev
from shared.logs import correlation_id

logger = logging.getLogger(__name__)


class RunObserver(Protocol):
    """Told about every committed run (the service's metrics)."""

    def run_finished(self, run: MatchRun, *, plan: Plan, elapsed_s: float,
                     first_proposal_latencies_s: list[float]) -> None: ...


class UnknownCluster(Exception):
    def __init__(self, cluster_id: str) -> None:
        super().__init__(f"cluster {cluster_id!r} is not known to the matcher")
        self.cluster_id = cluster_id


def require_known(uow: UnitOfWork, cluster_id: str | None) -> None:
    """A filter on a cluster the matcher has never heard of is an error (UnknownCluster), not
    an empty answer: a typo in the operator's filter would otherwise read as a cluster with no
    demand, or no runs."""
    if cluster_id is not None and not uow.read_model.cluster_exists(cluster_id):
        raise UnknownCluster(cluster_id)


@dataclass(frozen=True)
class PlanningOptions:
    params: Parameters
    max_steps: int = 1000  # open steps per run; the rest wait for the next run
    full_batch_steps: int = 50  # the loop plans at once when this many wait (and paces runs)
    producer: str = "matcher"
    solver: str = "cpsat"  # cpsat (solver/solve.py) | greedy (solver/greedy.py)
    solver_options: SolverOptions = field(default_factory=SolverOptions)
    observer: RunObserver | None = None


def plan_cluster(cluster_id: str, *, uow: UnitOfWork, options: PlanningOptions, trigger: str,
                 now: datetime | None = None, paced_since: datetime | None = None) -> MatchRun:
    """One run. ``paced_since``: the planning loop's previous read of this cluster; the run
    then solves only until the next full batch waits (``domain/pacing.py``)."""
    now = now or datetime.now(UTC)
    run_id = f"run_{uuid.uuid4().hex[:16]}"
    token = correlation_id.set(run_id)
    clock = time.perf_counter()
    try:
        run, plan, latencies = _run(cluster_id, run_id, uow=uow, options=options,
                                    trigger=trigger, now=now, paced_since=paced_since)
    finally:
        correlation_id.reset(token)
    if options.observer is not None:
        try:
            options.observer.run_finished(run, plan=plan, elapsed_s=time.perf_counter() - clock,
                                          first_proposal_latencies_s=latencies)
        except Exception:  # metrics never fail a committed run
            logger.exception("run observer failed")
    return run


OPTIMISTIC_TRIES = 3  # solves outside the lock before one holds it throughout


@dataclass
class _Batch:
    """What a run read: the cluster's plan epoch then, the batch's steps, the solver input,
    and the solver's options for it (its time limit paced)."""

    cluster_id: str
    epoch: int
    steps: list[StepState]
    instance: Instance
    solver_options: SolverOptions
    titles: dict[str, str]  # order id → its title (for the jobs the proposals describe)


def _run(cluster_id: str, run_id: str, *, uow: UnitOfWork, options: PlanningOptions,
         trigger: str, now: datetime, paced_since: datetime | None
         ) -> tuple[MatchRun, Plan, list[float]]:
    """Read the batch, solve it outside any transaction (events keep flowing meanwhile), then
    write the plan if nothing it depends on changed: the cluster's plan epoch and the batch's
    steps are as read. Otherwise read and solve again; the last try holds the cluster's lock
    from reading to writing, as every run once did."""
    started = time.perf_counter()
    for attempt in range(1, OPTIMISTIC_TRIES + 2):
        locked = attempt > OPTIMISTIC_TRIES
        with uow:
            batch = _read(cluster_id, run_id, uow=uow, options=options, now=now, lock=locked,
                          paced_since=paced_since)
            if locked:
                return _write(batch, *_solve(batch, options), run_id, uow=uow,
                              options=options, trigger=trigger, now=now, started=started)
        solved, solved_in = _solve(batch, options)
        with uow:
            rm = uow.read_model
            rm.lock_cluster(cluster_id)
            if (rm.plan_epoch(cluster_id) == batch.epoch and rm.steps_of_orders(
                    sorted({s.order_id for s in batch.steps})) == batch.steps):
                return _write(batch, solved, solved_in, run_id, uow=uow, options=options,
                              trigger=trigger, now=now, started=started)
        logger.info("cluster %s changed while run %s solved (try %d); planning again",
                    cluster_id, run_id, attempt)
    raise AssertionError("unreachable: the last try is locked")


def _read(cluster_id: str, run_id: str, *, uow: UnitOfWork, options: PlanningOptions,
          now: datetime, lock: bool, paced_since: datetime | None) -> _Batch:
    rm = uow.read_model
    if not rm.cluster_exists(cluster_id):
        raise UnknownCluster(cluster_id)
    if lock:
        rm.lock_cluster(cluster_id)
    epoch = rm.plan_epoch(cluster_id)
    queue = rm.pending_queue(cluster_id)
    chosen = select_batch(queue, options.max_steps)
    solver_options = options.solver_options
    if paced_since is not None:
        seen = pacing.arrivals(queue, chosen, since=paced_since, now=now)
        solver_options = dataclasses.replace(solver_options, time_limit_s=pacing.run_time_limit(
            solver_options.time_limit_s, full_batch=options.full_batch_steps, seen=seen))
    snap = rm.snapshot(cluster_id, now=now, order_ids=chosen)
    rank = {order_id: n for n, order_id in enumerate(chosen)}
    snap.orders.sort(key=lambda o: rank[o.id])  # the queue's order
    instance = build_instance(snap, params=options.params, now=now,
                              name=f"{cluster_id}/{run_id}")
    return _Batch(cluster_id=cluster_id, epoch=epoch, steps=copy.deepcopy(snap.steps),
                  instance=instance, solver_options=solver_options,
                  titles={o.id: o.title for o in snap.orders})


def _solve(batch: _Batch, options: PlanningOptions
           ) -> tuple[tuple[Plan, float | None, float | None], float]:
    """The solver's answer and the seconds it took."""
    clock = time.perf_counter()
    solved = solve_instance(batch.instance,
                            dataclasses.replace(options, solver_options=batch.solver_options))
    return solved, time.perf_counter() - clock


def _write(batch: _Batch, solved: tuple[Plan, float | None, float | None], wall_s: float,
           run_id: str, *, uow: UnitOfWork, options: PlanningOptions, trigger: str,
           now: datetime, started: float) -> tuple[MatchRun, Plan, list[float]]:
    """In the caller's transaction, the cluster locked: store the run, move the steps,
    write the events, commit."""
    plan, bound, gap = solved
    instance, rm, cluster_id = batch.instance, uow.read_model, batch.cluster_id
    run = MatchRun(
        id=run_id, cluster_id=cluster_id, trigger=trigger, status=plan.status,
        placed_steps=len(plan.allocations), unplaced_steps=len(plan.unplaced),
        objective=round(plan.objective, 2), wall_s=round(wall_s, 6), started_at=now,
        finished_at=now + timedelta(seconds=time.perf_counter() - started),
        parameters=_parameters(options, batch.solver_options),
        bound=None if bound is None else round(bound, 2), gap=gap,
        seed=options.solver_options.seed)
    uow.runs.add(run, plan=plan, snapshot=to_scenario(instance))
    _apply(plan, {s.id: s for s in batch.steps}, uow=uow, run_id=run_id)
    rm.bump_plan_epoch(cluster_id)  # a run solved meanwhile (POST /match-runs) re-reads
    latencies = rm.first_proposals(sorted(plan.allocations_by_order()),
                                   at=run.finished_at)
    _publish(plan, run, batch, uow=uow, producer=options.producer)
    uow.commit()
    logger.info("match run %s on %s: %d placed, %d unplaced, objective %.2f, %.3f s",
                run.id, cluster_id, run.placed_steps, run.unplaced_steps, plan.objective, wall_s)
    return run, plan, latencies


def _job(step: StepState, *, title: str, due: datetime, steps: dict[str, StepState]
         ) -> ev.ProposedStepJob:
    """What the supplier is asked to make, and after which of the order's steps (``steps``:
    every step of the batch's orders, pinned ones too, by id)."""
    return ev.ProposedStepJob(
        title=title, process=step.process, material=step.material, quantity=step.quantity,
        due=due, step=step.key,
        after=[ev.PrecedingStep(step_id=a, key=steps[a].key) for a in step.after])


def plan_pending(*, uow: UnitOfWork, options: PlanningOptions) -> list[MatchRun]:
    """One run for every cluster that has pending steps (a failing cluster does not stop the
    others; it is logged and tried again next time)."""
    with uow:
        clusters = uow.read_model.clusters_with_pending()
    runs = []
    for cid in clusters:
        try:
            runs.append(plan_cluster(cid, uow=uow, options=options, trigger=INTERVAL))
        except Exception:
            logger.exception("planning cluster %s failed", cid)
    return runs


def solve_instance(instance: Instance, options: PlanningOptions
                   ) -> tuple[Plan, float | None, float | None]:
    """The plan with its lower bound and gap (None for the greedy, which has no bound)."""
    if options.solver == "greedy":
        return greedy.solve(instance), None, None
    result = optimiser.solve(instance, options.solver_options)
    return result.plan, result.bound, result.gap


def _parameters(options: PlanningOptions, s: SolverOptions
                ) -> dict[str, float | int | str | bool]:
    """What the run was solved with (its own time limit, paced or not: a replay uses it)."""
    return {**dataclasses.asdict(options.params), "max_steps": options.max_steps,
            "solver": options.solver, "time_limit_s": s.time_limit_s, "threads": s.threads,
            "seed": s.seed, "deterministic": s.deterministic, "gap_limit": s.gap_limit,
            "greedy_baseline": s.greedy_baseline}


def _apply(plan: Plan, steps: dict[str, StepState], *, uow: UnitOfWork, run_id: str) -> None:
    changed = []
    for a in plan.allocations:
        step = steps[a.step_id]
        step.propose(window_id=a.window_id, price=a.price, transport_km=a.transport_km,
                     run_id=run_id)
        changed.append(step)
    for u in plan.unplaced:
        step = steps[u.step_id]
        step.mark_unplaced(reason=u.reason, detail=u.detail, run_id=run_id)
        changed.append(step)
    uow.read_model.save_steps(changed)


def _publish(plan: Plan, run: MatchRun, batch: _Batch, *, uow: UnitOfWork,
             producer: str) -> None:
    """The run's events in one INSERT: a proposal per order (each allocation with the job it
    asks for), an unplaced event per step, then the run's completion."""
    cid = run.cluster_id
    steps = {s.id: s for s in batch.steps}
    events = []
    for order_id, allocations in plan.allocations_by_order().items():
        due = batch.instance.orders_by_id[order_id].due
        payload = ev.AllocationProposedV3(
            match_run_id=run.id, cluster_id=cid, order_id=order_id,
            allocations=[ev.ProposedStepJobAllocation(
                step_id=a.step_id, window_id=a.window_id, machine_id=a.machine_id,
                factory_id=a.factory_id, hours=a.hours, price=a.price,
                transport_km=a.transport_km,
                job=_job(steps[a.step_id], title=batch.titles[order_id], due=due, steps=steps))
                for a in allocations])
        events.append(new_event(payload, key=cid, producer=producer, correlation_id=order_id))
    for u in plan.unplaced:
        payload = ev.StepUnplaced(match_run_id=run.id, cluster_id=cid, order_id=u.order_id,
                                  step_id=u.step_id, reason=u.reason, detail=u.detail)
        events.append(new_event(payload, key=cid, producer=producer, correlation_id=u.order_id))
    done = ev.MatchRunCompleted(
        match_run_id=run.id, cluster_id=cid, trigger=run.trigger, status=run.status,
        placed_steps=run.placed_steps, unplaced_steps=run.unplaced_steps,
        objective=run.objective, wall_s=run.wall_s)
    uow.publish_all([*events, new_event(done, key=cid, producer=producer,
                                         correlation_id=run.id)])
