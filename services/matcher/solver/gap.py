"""The GAP solver behind ``sharefab solve-gap`` and the matcher benchmark.

Pipeline, inside one time limit:
1. Lagrangian bound (capacities relaxed, subgradient in numpy): a lower bound equal to the LP's
   and reduced costs (``gap_bound``).
2. Warm start: greedy by regret on the Lagrangian-adjusted costs, then shift/swap local search
   (``gap_heuristic``).
3. LNS around the incumbent: small neighbourhoods of related agents re-solved by CP-SAT, two at
   a time on disjoint agents (``gap_lns``); most of the time on large instances, 60 % on small.
4. Reduced-cost fixing: with an incumbent of cost UB, a pair whose reduced cost puts every
   assignment using it at UB or above is dropped (on type E about half of the pairs once UB is
   within ~0.2 %; on type D, whose reduced costs are small, hardly any).
5. If the reduced model is small (<= 20,000 pairs), CP-SAT on it, hinted with the incumbent,
   for the time left (``gap_model``); its bound on the reduced model is a valid bound for the
   whole instance (every assignment cheaper than UB lies inside it, and the incumbent does too).
   When UB - LB is still large, CP-SAT gets only a core instead (pairs with reduced cost <= 5,
   plus the incumbent's): measured, it finds better solutions in the seconds left than the
   whole reduced model, but a heuristic restriction proves nothing, so its bound is not used.

Small instances (m * n <= 15,000 pairs, two threads or more, not deterministic) run a
portfolio: HiGHS branch-and-cut on the whole model (``gap_mip``) in one thread from the start, for
the time limit less ``POLISH_S`` — the same search as HiGHS alone — and the pipeline in the other
threads; the better assignment wins and the better bound is kept, so the result is never worse
than HiGHS alone given 0.2 s less. Whichever side proves optimality first stops the other (the
LNS checks ``stop``; HiGHS is interrupted through its MIP callback). Every improving assignment
HiGHS finds is handed to the pipeline as it is found (``Incumbent``): the LNS moves to it when it
is cheaper than its own, and reduced-cost fixing and the final CP-SAT start from the better of
the two.
Measured before: started only after the warm start and only on tight LPs (type E), HiGHS had
~1.5 s less than on its own and lost to plain HiGHS on 11 of the 30 D and E instances; on the
larger instances the pipeline wins by far.
HiGHS starts without our incumbent because, measured, a start changed its search without
helping it (e10100: 11,604 with a start, 11,577-11,584 without).

Larger instances with a tight LP run the same portfolio with HiGHS on a core instead of the whole
model (``highs_core``): after steps 1 and 2, the pairs of reduced cost <= 3 and the warm start's.
On type E that is 5-10 % of the pairs (e40400: 1,207 of 16,000), a MIP HiGHS searches well; on
type D, whose reduced costs are small, it is 15-19 %, and the LNS keeps both threads. A core is a
heuristic restriction: HiGHS's bound there, its optimality and its infeasibility say nothing
about the instance, so only its assignments are used. Measured at 10 s on two threads, seeds 0-2:
e40400 44,605-44,635 instead of 44,668-44,738 (HiGHS alone 44,714); e60900 100,289-100,323
instead of 100,444; e801600 unchanged (177,243-177,599 against 177,406-177,496).

A portfolio's two searches stop ``POLISH_S`` (0.2 s) before the limit, and both final assignments
get shift/swap passes (``polish``) before they are compared: HiGHS's last assignment is rarely
1-opt (e20400 44,894 -> 44,891, d15900 55,497 -> 55,449, HiGHS's core on e801600 177,243 ->
176,985), and that is what let the portfolio beat HiGHS alone on instances where its thread's
search, the same as HiGHS alone's, found the best assignment too late for the pipeline to work
from it.

Every assignment returned has been checked against the instance (``gap_data.violations``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from services.matcher.solver.gap_bound import LagrangianBound, lagrangian_bound
from services.matcher.solver.gap_data import GapInstance, cost_of, violations
from services.matcher.solver.gap_heuristic import improve, regret_greedy
from services.matcher.solver.gap_lns import lns
from services.matcher.solver.gap_mip import solve_pairs_mip
from services.matcher.solver.gap_model import CpResult, Pair, all_pairs, solve_pairs

logger = logging.getLogger(__name__)

LNS_SHARE = 0.6               # of the time limit spent in LNS; CP-SAT on the reduced model after
LNS_STEPS_PER_SECOND = 20     # deterministic mode: LNS steps instead of seconds
FINAL_MODEL_MAX_PAIRS = 20_000
SMALL_INSTANCE_PAIRS = 10_000  # m * n up to which the final CP-SAT gets 1 - LNS_SHARE of the time
CORE_SLACK: float | None = 5.0
FINAL_LINEARIZATION: int | None = 2
PORTFOLIO_MAX_PAIRS = 15_000  # m * n up to which HiGHS runs beside the pipeline
POLISH_S = 0.2               # the portfolio's searches stop this much before the limit, to
                             # compare and polish their assignments (``polish``)
CORE_MIP_SLACK = 3.0          # larger instances: HiGHS on the pairs of reduced cost <= this ...
CORE_MIP_MAX_SHARE = 0.12     # ... when they are at most this share of all pairs (tight LP)


class InvalidAssignmentError(RuntimeError):
    """A solver produced an assignment that breaks a constraint (a bug, never expected)."""


@dataclass(frozen=True)
class GapResult:
    instance: str
    m: int
    n: int
    status: str                   # optimal | feasible | infeasible | unknown
    objective: int | None
    bound: int | None
    wall_s: float
    assignment: list[int] | None
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap between objective and bound (0 when proven optimal)."""
        if self.objective is None or self.bound is None or self.objective == 0:
            return None
        return (self.objective - self.bound) / abs(self.objective)

    def as_json(self) -> dict[str, object]:
        return {"instance": self.instance, "m": self.m, "n": self.n, "status": self.status,
                "objective": self.objective, "bound": self.bound, "wall_s": round(self.wall_s, 3),
                "assignment": self.assignment}


def kept_pairs(reduced_cost: np.ndarray, *, slack: float, incumbent: np.ndarray) -> list[Pair]:
    """Pairs that may appear in an assignment cheaper than the incumbent, plus the incumbent's."""
    keep = reduced_cost <= slack + 1e-6
    keep[incumbent, np.arange(incumbent.size)] = True
    agents, jobs = np.nonzero(keep)
    return list(zip(agents.tolist(), jobs.tolist(), strict=True))


def solve(
    instance: GapInstance,
    *,
    time_limit: float,
    threads: int = 2,
    seed: int = 0,
    deterministic: bool = False,
) -> GapResult:
    """Best assignment found within ``time_limit`` seconds (wall clock; with ``deterministic``,
    fixed work limits instead, so equal inputs and seeds give equal results)."""
    start = time.monotonic()
    if deterministic or threads < 2:
        return _pipeline(instance, time_limit=time_limit, threads=threads, seed=seed,
                         deterministic=deterministic)
    if instance.m * instance.n <= PORTFOLIO_MAX_PAIRS:
        # HiGHS on the whole model from the start, in one thread, the pipeline in the others;
        # whichever proves optimality first stops the other.
        return _portfolio(instance, all_pairs(instance), whole=True, time_limit=time_limit,
                          threads=threads, seed=seed, start=start)
    prepared = prepare(instance, time_limit=time_limit, deterministic=False, start=start)
    core = highs_core(instance, prepared)
    if core is None:
        return _pipeline(instance, time_limit=time_limit, threads=threads, seed=seed,
                         deterministic=False, prepared=prepared)
    share = len(core) / (instance.m * instance.n)
    return _portfolio(instance, core, whole=False, time_limit=time_limit, threads=threads,
                      seed=seed, start=start,
                      prepared=replace(prepared, stats={**prepared.stats,
                                                        "highs_core_share": share}))


def highs_core(instance: GapInstance, prepared: Prepared) -> list[Pair] | None:
    """The pairs HiGHS searches beside the pipeline on a large instance: those of reduced cost
    at most ``CORE_MIP_SLACK``, plus the warm start's. None when there is nothing to search
    (no feasible warm start, or it is optimal already) or the LP is loose (type D), so the
    core is a large share of all pairs and the LNS does better with every thread."""
    if prepared.upper is None or prepared.upper <= prepared.relaxation.bound:
        return None
    core = kept_pairs(prepared.relaxation.reduced_cost, slack=CORE_MIP_SLACK,
                      incumbent=prepared.warm)
    return core if len(core) <= CORE_MIP_MAX_SHARE * instance.m * instance.n else None


def _portfolio(instance: GapInstance, pairs: list[Pair], *, whole: bool, time_limit: float,
               threads: int, seed: int, start: float,
               prepared: Prepared | None = None) -> GapResult:
    """HiGHS on ``pairs`` in one thread, the pipeline in the others, trading assignments.

    With ``whole`` (every pair), HiGHS's bound is valid and its proof of optimality stops the
    pipeline; on a core it is neither, and the pipeline stops only at the time limit."""
    proven, ours_proven = threading.Event(), threading.Event()
    found = Incumbent(instance)
    search = max(time_limit - POLISH_S, 0.5 * time_limit)
    with ThreadPoolExecutor(max_workers=1) as pool:
        highs = pool.submit(_highs, instance, pairs, whole=whole,
                            time_limit=search - (time.monotonic() - start), seed=seed,
                            proven=proven, cancel=ours_proven, found=found)
        ours = _pipeline(instance, time_limit=search, threads=threads - 1, seed=seed,
                         deterministic=False, stop=proven.is_set, outside=found.best,
                         prepared=prepared)
        if ours.status in ("optimal", "infeasible"):
            ours_proven.set()
        return _best_of(instance, ours, highs, start, whole=whole,
                        deadline=start + time_limit)


class Incumbent:
    """The best assignment HiGHS has found so far, offered from its thread, read by the
    pipeline's."""

    def __init__(self, instance: GapInstance) -> None:
        self._instance = instance
        self._lock = threading.Lock()
        self._best: tuple[int, np.ndarray] | None = None

    def offer(self, assignment: np.ndarray) -> None:
        if violations(self._instance, assignment):  # HiGHS's tolerances, never expected
            return
        cost = cost_of(self._instance, assignment)
        with self._lock:
            if self._best is None or cost < self._best[0]:
                self._best = (cost, assignment)

    def best(self) -> tuple[int, np.ndarray] | None:
        with self._lock:
            return self._best


def _highs(instance: GapInstance, pairs: list[Pair], *, whole: bool, time_limit: float,
           seed: int, proven: threading.Event, cancel: threading.Event,
           found: Incumbent) -> CpResult:
    result = solve_pairs_mip(instance, pairs, time_limit=time_limit, threads=1, seed=seed,
                             cancel=cancel, on_solution=found.offer)
    if whole and result.status in ("optimal", "infeasible"):
        proven.set()
    return result


def _best_of(instance: GapInstance, ours: GapResult, mip: Future[CpResult],
             start: float, *, whole: bool = True, deadline: float = math.inf) -> GapResult:
    """The pipeline's result, improved by HiGHS's assignment and bound where they are better
    (its bound and its infeasibility only when it searched the ``whole`` model, not a core)."""
    other = mip.result()
    stats = {**ours.stats, "highs_objective": (math.nan if other.objective is None
                                               else float(other.objective))}
    if whole and other.status == "infeasible":
        return _result(instance, "infeasible", None, None, None, start, stats)
    bound = ours.bound
    if whole and math.isfinite(other.bound):
        highs_bound = math.ceil(other.bound - 1e-6)
        bound = highs_bound if bound is None else max(bound, highs_bound)
    # Both assignments get a last shift/swap pass: HiGHS's final one is rarely 1-opt (e20400:
    # 44,894 -> 44,891, d15900: 55,497 -> 55,449, in 2-65 ms), and the pipeline's may be
    # CP-SAT's at its time limit.
    highs = (None if other.assignment is None
             else polish(instance, other.assignment, deadline=deadline))
    mine = (None if ours.assignment is None
            else polish(instance, np.asarray(ours.assignment), deadline=deadline))
    if highs is not None and (mine is None or highs[0] < mine[0]):
        return _result(instance, "feasible", highs[1], highs[0], bound, start,
                       {**stats, "winner": "highs", "polish_gain": other.objective - highs[0]})
    if mine is None:
        return replace(ours, bound=bound, wall_s=time.monotonic() - start, stats=stats)
    status = ours.status if mine[0] == ours.objective else "feasible"
    return _result(instance, status, mine[1], mine[0], bound, start,
                   {**stats, "polish_gain": ours.objective - mine[0]})


def polish(instance: GapInstance, assignment: np.ndarray, *,
           deadline: float = math.inf) -> tuple[int, np.ndarray]:
    """A feasible assignment after shift and swap moves towards a local optimum (until the
    ``deadline``), and its cost: never higher, every move keeps capacities and lowers the cost."""
    better = improve(instance, assignment, deadline=deadline)
    return cost_of(instance, better), better


@dataclass(frozen=True)
class Prepared:
    """Steps 1 and 2 of the module docstring: the relaxation and the warm start."""
    start: float                  # monotonic time the solve began
    relaxation: LagrangianBound
    warm: np.ndarray
    upper: int | None             # the warm start's cost; None when it is infeasible
    stats: dict[str, float]


def prepare(instance: GapInstance, *, time_limit: float, deterministic: bool,
             start: float) -> Prepared:
    bound_limit = math.inf if deterministic else min(0.15 * time_limit, 2.0)
    relaxation = lagrangian_bound(instance, time_limit=bound_limit)
    warm = improve(instance, regret_greedy(instance, relaxation.adjusted_cost(instance)))
    upper = None if violations(instance, warm) else cost_of(instance, warm)
    return Prepared(start=start, relaxation=relaxation, warm=warm, upper=upper, stats={
        "lagrangian_bound": relaxation.value,
        "warm_start": math.nan if upper is None else float(upper)})


def _pipeline(
    instance: GapInstance,
    *,
    time_limit: float,
    threads: int,
    seed: int,
    deterministic: bool,
    stop: Callable[[], bool] | None = None,
    outside: Callable[[], tuple[int, np.ndarray] | None] | None = None,
    prepared: Prepared | None = None,
) -> GapResult:
    """Steps 1-5 of the module docstring (1 and 2 already done when ``prepared`` is given);
    ``stop()`` true ends the search early (HiGHS beside it proved optimality); ``outside()``
    is the best (cost, assignment) HiGHS has found so far."""
    if prepared is None:
        prepared = prepare(instance, time_limit=time_limit, deterministic=deterministic,
                            start=time.monotonic())
    start, relaxation = prepared.start, prepared.relaxation
    warm, upper, stats = prepared.warm, prepared.upper, dict(prepared.stats)
    lower = relaxation.bound
    if upper is not None and upper <= lower:
        return _result(instance, "optimal", warm, upper, lower, start, stats)
    if upper is not None:
        steps = int(LNS_STEPS_PER_SECOND * time_limit) if deterministic else None
        # Small instances keep time for CP-SAT on the reduced model, which may prove optimality.
        share = LNS_SHARE if instance.m * instance.n <= SMALL_INSTANCE_PAIRS else 0.97
        deadline = math.inf if deterministic else start + share * time_limit
        warm, lns_stats = lns(instance, warm, reduced_cost=relaxation.reduced_cost,
                              deadline=deadline, threads=threads, seed=seed,
                              lower_bound=lower, max_steps=steps, stop=stop, outside=outside)
        upper = cost_of(instance, warm)
        stats.update(lns_objective=upper, lns_steps=lns_stats.steps,
                     lns_improvements=lns_stats.improvements, lns_adopted=lns_stats.adopted)
        if upper <= lower or lns_stats.proven_optimal:
            return _result(instance, "optimal", warm, upper, upper, start, stats)
    better = outside() if outside is not None else None
    if better is not None and (upper is None or better[0] < upper):
        upper, warm = better[0], better[1].copy()
        stats["final_start_from_highs"] = 1.0

    if upper is not None:
        slack = upper - 1 - relaxation.value
        # A core (pairs of small reduced cost) solves far better than the whole reduced model
        # in the seconds left; it is a heuristic restriction, so it proves nothing.
        exact = CORE_SLACK is None or slack <= CORE_SLACK
        pairs = kept_pairs(relaxation.reduced_cost,
                           slack=slack if exact else CORE_SLACK, incumbent=warm)
    else:
        exact, pairs = True, all_pairs(instance)
    stats["pairs_kept"] = len(pairs) / (instance.m * instance.n)
    left = time_limit - (time.monotonic() - start)
    if upper is not None and (len(pairs) > FINAL_MODEL_MAX_PAIRS or (stop and stop())):
        # Too big to gain anything in the seconds left (and slow to build): keep the LNS result.
        return _result(instance, "feasible", warm, upper, lower, start, stats)
    if deterministic:
        left = (1 - LNS_SHARE) * time_limit if upper is not None else time_limit
    cp = solve_pairs(instance, pairs, time_limit=left if not deterministic else 10 * time_limit,
                     threads=threads, seed=seed, hint=warm, linearization_level=FINAL_LINEARIZATION,
                     deterministic_limit=left if deterministic else None)
    left = time_limit - (time.monotonic() - start)
    if not exact and cp.status == "optimal" and not deterministic and left > 0.5:
        # The core is solved with time to spare: try to prove on the exact reduced model.
        warm, upper = cp.assignment, cp.objective
        exact, pairs = True, kept_pairs(relaxation.reduced_cost,
                                        slack=upper - 1 - relaxation.value, incumbent=warm)
        if len(pairs) <= FINAL_MODEL_MAX_PAIRS:
            cp = solve_pairs(instance, pairs, time_limit=left, threads=threads, seed=seed,
                             hint=warm, linearization_level=FINAL_LINEARIZATION)
    bound: int | None = lower
    if cp.status == "infeasible":
        bound = None
    elif exact and math.isfinite(cp.bound):
        bound = max(lower, math.ceil(cp.bound - 1e-6))
    if cp.assignment is not None and (upper is None or cp.objective <= upper):
        status = "optimal" if cp.status == "optimal" and exact else "feasible"
        return _result(instance, status, cp.assignment, cp.objective, bound, start, stats)
    if upper is not None:
        return _result(instance, "feasible", warm, upper, bound, start, stats)
    status = "infeasible" if cp.status == "infeasible" else "unknown"
    return _result(instance, status, None, None, bound, start, stats)


def _result(instance: GapInstance, status: str, assignment: np.ndarray | None,
            objective: int | None, bound: int | None, start: float,
            stats: dict[str, float]) -> GapResult:
    if assignment is not None:
        problems = violations(instance, assignment)
        if problems or cost_of(instance, assignment) != objective:
            raise InvalidAssignmentError(f"{instance.name}: {problems or 'cost mismatch'}")
    if objective is not None and bound is not None:
        bound = min(bound, objective)
        if bound == objective:
            status = "optimal"
    result = GapResult(instance=instance.name, m=instance.m, n=instance.n, status=status,
                       objective=objective, bound=bound, wall_s=time.monotonic() - start,
                       assignment=None if assignment is None else assignment.tolist(),
                       stats=stats)
    logger.info("gap %s: %s objective=%s bound=%s gap=%s in %.2f s %s", result.instance,
                result.status, result.objective, result.bound, result.gap, result.wall_s, stats)
    return result
