"""The GAP as a MIP over a set of allowed (agent, job) pairs, solved by HiGHS.

The same model as ``gap_model`` (one agent per job, capacity per agent, minimise cost), written as
a sparse column-wise LP: column k = pair (i, j) has a 1 in job row j and r_ij in agent row n + i.
With every pair allowed and no start it is the "HiGHS" baseline of the benchmark; ``gap.solve``
runs it the same way beside its own pipeline on small instances and takes every improving
assignment HiGHS finds as it finds it (``on_solution``), so the pipeline can work from it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import highspy
import numpy as np

from services.matcher.solver.gap_data import GapInstance, cost_of
from services.matcher.solver.gap_model import CpResult, Pair

STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
}


def build_lp(instance: GapInstance, pairs: Sequence[Pair]) -> highspy.HighsLp:
    agents = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
    jobs = np.fromiter((j for _, j in pairs), dtype=np.int64, count=len(pairs))
    m, n, k = instance.m, instance.n, len(pairs)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = k, n + m
    # Columns: x[i, j] in {0, 1} at cost c_ij.
    lp.col_cost_ = instance.cost[agents, jobs].astype(float)
    lp.col_lower_, lp.col_upper_ = np.zeros(k), np.ones(k)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * k
    # Rows: every job exactly once; every agent within its capacity.
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(m, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n), instance.capacity.astype(float)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * k + 1, 2, dtype=np.int32)
    lp.a_matrix_.index_ = np.column_stack([jobs, n + agents]).ravel().astype(np.int32)
    lp.a_matrix_.value_ = np.column_stack(
        [np.ones(k), instance.resource[agents, jobs].astype(float)]).ravel()
    return lp


def solve_pairs_mip(
    instance: GapInstance,
    pairs: Sequence[Pair],
    *,
    time_limit: float,
    threads: int,
    seed: int = 0,
    start: np.ndarray | None = None,
    cancel: threading.Event | None = None,
    on_solution: Callable[[np.ndarray], None] | None = None,
) -> CpResult:
    """Minimise the cost over ``pairs`` with HiGHS; ``start`` is a feasible agent per job whose
    pairs are all in ``pairs`` (ignored by HiGHS otherwise). Setting ``cancel`` stops the
    search at its next check (the best assignment so far is returned). ``on_solution`` is
    called, from HiGHS's thread, with every improving assignment as it is found."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", max(float(time_limit), 0.01))
    highs.setOptionValue("threads", threads)
    highs.setOptionValue("random_seed", seed)
    # HiGHS's default relative gap (0.01 %) is kept although costs are integers: measured at
    # 10 s on one thread, ``mip_rel_gap`` 0 (or 1e-5) changes the search and finds worse
    # assignments (e10100: 11,584 instead of 11,577; e10400: 45,752 instead of 45,747). So its
    # "optimal" means "within 0.01 %"; the result says optimal only when the gap is below one.
    highs.setOptionValue("mip_abs_gap", 1.0 - 1e-6)
    highs.passModel(build_lp(instance, pairs))
    if start is not None:
        wanted = {(int(start[j]), j) for j in range(instance.n)}
        solution = highspy.HighsSolution()
        solution.col_value = [1.0 if pair in wanted else 0.0 for pair in pairs]
        solution.value_valid = True
        highs.setSolution(solution)
    agents = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
    jobs = np.fromiter((j for _, j in pairs), dtype=np.int64, count=len(pairs))

    def assignment(col_value: Sequence[float]) -> np.ndarray:
        chosen = np.asarray(col_value) > 0.5
        agent = np.full(instance.n, -1, dtype=np.int64)
        agent[jobs[chosen]] = agents[chosen]
        return agent

    def callback(kind, _message, data_out, data_in, _user_data) -> None:  # type: ignore[no-untyped-def]
        if kind == highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution:
            if len(data_out.mip_solution) == len(pairs):  # the model's columns, as documented
                on_solution(assignment(data_out.mip_solution))  # type: ignore[misc]
        elif cancel is not None and cancel.is_set():
            data_in.user_interrupt = True

    if cancel is not None or on_solution is not None:
        highs.setCallback(callback, None)
    if cancel is not None:
        highs.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    if on_solution is not None:
        highs.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
    highs.run()
    info = highs.getInfo()
    status = STATUS.get(highs.getModelStatus(), "unknown")
    bound = float(info.mip_dual_bound)
    if info.primal_solution_status != 2:  # no feasible solution
        return CpResult(status=status, objective=None, bound=bound, assignment=None)
    agent = assignment(highs.getSolution().col_value)
    objective = cost_of(instance, agent)
    proven = status == "optimal" and objective - math.ceil(bound - 1e-6) < 1
    return CpResult(status="optimal" if proven else "feasible", objective=objective,
                    bound=bound, assignment=agent)
