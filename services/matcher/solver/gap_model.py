"""The CP-SAT model of the GAP over a set of allowed (agent, job) pairs.

Sections in the usual order: data → variables → constraints → objective → (hint) → solve →
read back. With every pair allowed and no hint it is the textbook model the benchmark calls
"plain CP-SAT"; ``gap.solve`` passes only the pairs reduced-cost fixing keeps, a hint, and (for
neighbourhood re-solves) jobs pinned to their agents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from services.matcher.solver.gap_data import GapInstance

Pair = tuple[int, int]  # (agent, job)

STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "unknown",
    cp_model.UNKNOWN: "unknown",
}


@dataclass(frozen=True)
class CpResult:
    status: str                       # optimal | feasible | infeasible | unknown
    objective: int | None
    bound: float
    assignment: np.ndarray | None     # agent per job


def all_pairs(instance: GapInstance) -> list[Pair]:
    return [(i, j) for i in range(instance.m) for j in range(instance.n)]


def new_assign_variables(model: cp_model.CpModel, pairs: Iterable[Pair]
                         ) -> dict[Pair, cp_model.IntVar]:
    return {(i, j): model.new_bool_var(f"x[{i},{j}]") for i, j in pairs}


def add_one_agent_per_job_constraints(model: cp_model.CpModel, x: Mapping[Pair, cp_model.IntVar],
                                      n: int) -> None:
    # Every job goes to exactly one of its allowed agents.
    by_job: list[list[cp_model.IntVar]] = [[] for _ in range(n)]
    for (_, j), var in x.items():
        by_job[j].append(var)
    for j, options in enumerate(by_job):
        model.add_exactly_one(options).with_name(f"one_agent[{j}]")


def add_capacity_constraints(model: cp_model.CpModel, x: Mapping[Pair, cp_model.IntVar],
                             instance: GapInstance) -> None:
    # The resources of the jobs an agent takes fit its capacity.
    by_agent: list[list[Pair]] = [[] for _ in range(instance.m)]
    for pair in x:
        by_agent[pair[0]].append(pair)
    for i, pairs in enumerate(by_agent):
        if pairs:
            model.add(sum(int(instance.resource[p]) * x[p] for p in pairs)
                      <= int(instance.capacity[i])).with_name(f"capacity[{i}]")


def assignment_cost(x: Mapping[Pair, cp_model.IntVar], instance: GapInstance
                    ) -> cp_model.LinearExprT:
    return cp_model.LinearExpr.weighted_sum(list(x.values()),
                                            [int(instance.cost[p]) for p in x])


def solve_pairs(
    instance: GapInstance,
    pairs: Sequence[Pair],
    *,
    time_limit: float,
    threads: int,
    seed: int = 0,
    hint: np.ndarray | None = None,
    deterministic_limit: float | None = None,
    linearization_level: int | None = None,
) -> CpResult:
    """Minimise the cost over ``pairs``; ``hint`` is an agent per job (may be infeasible)."""
    # Model and variables.
    model = cp_model.CpModel()
    x = new_assign_variables(model, pairs)
    # Constraints.
    add_one_agent_per_job_constraints(model, x, instance.n)
    add_capacity_constraints(model, x, instance)
    # Objective.
    model.minimize(assignment_cost(x, instance))
    # Warm start: the heuristic's assignment.
    if hint is not None:
        for (i, j), var in x.items():
            model.add_hint(var, int(hint[j]) == i)
    # Solve.
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.01)
    solver.parameters.num_workers = threads
    solver.parameters.random_seed = seed
    if linearization_level is not None:  # 2 adds cuts: proves small sub-problems more often
        solver.parameters.linearization_level = linearization_level
    if deterministic_limit is not None:
        solver.parameters.max_deterministic_time = deterministic_limit
        solver.parameters.interleave_search = True
    status = STATUS.get(solver.solve(model), "unknown")
    # Read back.
    if status not in ("optimal", "feasible"):
        return CpResult(status=status, objective=None, bound=solver.best_objective_bound,
                        assignment=None)
    agent = np.full(instance.n, -1, dtype=np.int64)
    for (i, j), var in x.items():
        if solver.boolean_value(var):
            agent[j] = i
    return CpResult(status=status, objective=round(solver.objective_value),
                    bound=solver.best_objective_bound, assignment=agent)
