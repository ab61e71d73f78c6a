"""Replay a match run: solve its stored input again, deterministically, and compare.

The run's parameters (solver, time limit, threads) and seed are reused, in deterministic mode
(a deterministic time budget). A run that was itself solved deterministically gives the same
allocations; one solved against the wall clock may legitimately differ, and the answer says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from services.matcher.domain.scenario import from_scenario
from services.matcher.service_layer.planning import PlanningOptions, solve_instance
from services.matcher.service_layer.unit_of_work import UnitOfWork
from services.matcher.solver.solve import SolverOptions


@dataclass(frozen=True)
class Replay:
    match_run_id: str
    identical: bool
    objective: float
    original_objective: float | None
    original_deterministic: bool
    differences: list[dict[str, Any]]


class InputDeleted(Exception):
    """The run exists, but retention deleted its input (MATCHER_SNAPSHOT_RETENTION_DAYS)."""


def replay_run(run_id: str, *, uow: UnitOfWork, options: PlanningOptions) -> Replay | None:
    """None if there is no such run; ``InputDeleted`` if its input is gone. ``options``
    supplies what the run did not store."""
    with uow:
        found = uow.runs.get(run_id)
        snapshot = uow.runs.snapshot(run_id) if found is not None else None
    if found is None:
        return None
    if snapshot is None:
        raise InputDeleted(run_id)
    run, allocations, _ = found
    p = run.parameters
    solver_options = SolverOptions(
        time_limit_s=float(p.get("time_limit_s", options.solver_options.time_limit_s)),
        threads=int(p.get("threads", options.solver_options.threads)),
        seed=run.seed if run.seed is not None else int(p.get("seed", 0)),
        deterministic=True,
        gap_limit=float(p.get("gap_limit", 0.0)),  # runs from before the limit had none
        greedy_baseline=bool(p.get("greedy_baseline", True)))
    replay_options = dataclasses.replace(options, solver=str(p.get("solver", options.solver)),
                                         solver_options=solver_options)
    plan, _, _ = solve_instance(from_scenario(snapshot), replay_options)
    before = {a.step_id: a.window_id for a in allocations}
    after = {a.step_id: a.window_id for a in plan.allocations}
    differences = [{"step_id": sid, "original_window_id": before.get(sid),
                    "replayed_window_id": after.get(sid)}
                   for sid in sorted(before.keys() | after.keys())
                   if before.get(sid) != after.get(sid)]
    return Replay(match_run_id=run.id, identical=not differences,
                  objective=round(plan.objective, 2), original_objective=run.objective,
                  original_deterministic=bool(p.get("deterministic", p.get("solver") == "greedy")),
                  differences=differences)
