"""Solve an ``Instance`` with CP-SAT: eligibility → components → one model each → one ``Plan``.

1. The eligibility index gives each free step its eligible windows. An order with a step that
   has none (or with a precedence cycle) cannot be placed: it is reported with the funnel's
   reason and detail, its other steps ``order_incomplete``, and stays out of the models.
2. The other orders are split into independent components: two orders are in one component
   when they share a candidate window (``max_factories`` and the budget couple an order's own
   steps only). Each component is one model (``model.py``), solved smallest first, or, when
   it is very big or its share of the time is short for its size (``lns_neighbourhoods``),
   improved by LNS (``lns.py``); the time limit is shared out in proportion to the
   components' sizes (in normal mode, time a component leaves unused goes to the next ones,
   and building a model comes out of its component's share). With a wall-clock limit, a
   component whose model would take more than half of its share to build
   (``worth_modelling``) keeps the greedy's plan, bounded by the LP (``bound.py``): a short
   planning run then answers in its time limit instead of overrunning it to build a model
   CP-SAT has no time to use.
3. The greedy's plan (``greedy.py``) is every model's hint.
4. Read back: the chosen windows; then a repair pass gives every order the optimiser left out
   (or could not decide in time) a greedy try against the capacity that is left, in priority
   order. What still fails gets the greedy's reason (``capacity_taken``, ``over_budget``,
   ``no_window_before_due``, ``too_many_factories``; siblings ``order_incomplete``).

Deterministic mode: a deterministic time budget (``max_deterministic_time``, split by size
only), a fixed number of workers with ``interleave_search`` and a fixed seed, so two runs on
the same input give the same allocations. The model always has a solution (place nothing),
so the status is ``optimal`` (every component proven) or ``feasible``; ``infeasible`` or
``unknown`` from CP-SAT only make the repair pass place that component greedily.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from services.matcher.domain import reasons
from services.matcher.domain.costs import objective as plan_objective
from services.matcher.domain.model import Allocation, Instance, Order, Plan, Unplaced
from services.matcher.solver import greedy, lns
from services.matcher.solver.bound import lp_bound
from services.matcher.solver.chain import ChainGreedy
from services.matcher.solver.eligibility import PlanState
from services.matcher.solver.index import EligibilityIndex, StepEligibility
from services.matcher.solver.indexed_greedy import IndexedGreedy
from services.matcher.solver.model import CENTS, ModelData, add_hints, build_model

logger = logging.getLogger(__name__)

MIN_COMPONENT_S = 0.02  # every component gets at least this much (wall or deterministic)
RESERVE = 0.85  # of the time left, the rest kept for model building, the bound and read-back
# Building a CP-SAT model takes about this many eligible pairs a second (measured on the 2-core
# machines: a 15,000-pair component of a generated 400-factory batch in 0.38-0.47 s). A model
# that would take more than MAX_BUILD_SHARE of its component's budget to build leaves CP-SAT no
# time to improve on the hint (measured: 0.4 s after that build found no solution at all, and
# 1.5 s only the hint again), so with a wall-clock limit such a component keeps the greedy's plan.
MODEL_PAIRS_PER_S = 40_000
MAX_BUILD_SHARE = 0.5
# One model for a whole component pays off when CP-SAT has about a worker-second per this many
# eligible pairs; with less, LNS's small neighbourhoods do better. Measured on 14 batches the
# matcher planned under make bench (8,000-pair components): one worker, 2 s: LNS 235.2 M CNY
# against the whole model's 242.6-248.1 M; one worker, 0.5 s: 246.9 M against 260.6 M (the
# whole model was mostly the greedy's plan then); two workers, 2 s (3.4 worker-seconds): the
# whole model 235.8 M against LNS's 238.0 M.
FULL_MODEL_PAIRS_PER_WORKER_S = 3_000
WHOLE_MODEL_MAX_PAIRS = 20_000  # bigger components always get LNS's wide neighbourhoods


@dataclass(frozen=True)
class SolverOptions:
    time_limit_s: float = 2.0
    threads: int = 2
    seed: int = 0
    deterministic: bool = False
    hints: bool = True  # the greedy's plan as a hint
    # components with more eligible pairs than this are improved by LNS; None: decided by the
    # component's size and budget (``lns_neighbourhoods``)
    lns_min_pairs: int | None = None
    # a component's search stops once its plan is within this fraction of its bound (CP-SAT's
    # relative_gap_limit): the last 0.1 % of cost is rarely worth the rest of the time limit
    gap_limit: float = 0.001
    # also run the plain greedy: the baseline the optimiser is measured against (and one more
    # hint candidate); planning runs leave it out, the chain greedy's hint is the better one
    greedy_baseline: bool = True
    # CP-SAT's presolve, off by default: on a slow two-core machine it took all of a 0.5 s
    # budget for a 5,700-variable model (CP-SAT then answers UNKNOWN, not even the complete
    # hint it was given), and on generated scenarios the search without it did better in
    # every case measured, at 2 s and at 10 s
    presolve: bool = False


@dataclass(frozen=True)
class SolveResult:
    plan: Plan
    status: str  # optimal | feasible
    objective: float
    bound: float
    gap: float  # (objective − bound) / max(1, |objective|)
    wall_s: float
    greedy_objective: float | None  # the plain greedy's, when run (greedy_baseline)
    components: int
    variables: int
    stats: dict[str, float] = field(default_factory=dict)


def solve(instance: Instance, options: SolverOptions | None = None) -> SolveResult:
    options = options or SolverOptions()
    clock = time.perf_counter()
    index = EligibilityIndex(instance)
    eligible = index.eligible()
    t_index = time.perf_counter() - clock
    fast = ChainGreedy(instance, index, eligible)
    chain_plan = fast.solve()
    greedy_plan = (IndexedGreedy(instance, index, eligible).solve()  # = greedy.solve(instance)
                   if options.greedy_baseline else None)
    hint_plan = min((p for p in (greedy_plan, chain_plan) if p is not None),
                    key=lambda p: p.objective)
    t_greedy = time.perf_counter() - clock - t_index
    hint = {a.step_id: a.window_id for a in hint_plan.allocations}

    unplaced: list[Unplaced] = []
    modelled: list[Order] = []
    nothing_placed = PlanState.initial(instance)
    for o in instance.orders:
        if not o.free_steps:
            continue
        failed = _unplaceable(fast, o, nothing_placed)
        if failed:
            unplaced += failed
        else:
            modelled.append(o)

    comps = components(modelled, eligible)
    sizes = [sum(len(eligible[s.id].windows) for o in c for s in o.free_steps) for c in comps]
    placement: dict[str, str] = {}
    bound_cny, proven, variables, unmodelled = 0.0, True, 0, 0
    remaining = sum(sizes)
    for comp, size in sorted(zip(comps, sizes, strict=True), key=lambda cs: cs[1]):
        if options.deterministic:
            budget = max(MIN_COMPONENT_S, options.time_limit_s * size / max(1, sum(sizes)))
        else:
            left = options.time_limit_s - (time.perf_counter() - clock)
            budget = max(MIN_COMPONENT_S, RESERVE * left * size / max(1, remaining))
        remaining -= size
        if worth_modelling(size, budget, options):
            chosen, bound, optimal, n_vars = _solve_component(
                instance, index, comp, eligible, hint=hint, options=options, budget=budget,
                size=size)
        else:  # the greedy's plan, bounded by the LP
            chosen = _own_hint(comp, hint)
            bound, optimal, n_vars = _lp_bound(instance, index, comp, eligible), False, 0
            unmodelled += 1
        placement.update(chosen)
        bound_cny += bound
        proven &= optimal
        variables += n_vars

    plan, repaired = _read_back(fast, modelled, placement, unplaced)
    fixed = sum(instance.params.unplaced_penalty * instance.orders_by_id[u.order_id].priority
                for u in unplaced)  # the orders no model could place
    objective = plan.objective
    bound = min(objective, bound_cny + fixed)
    status = "optimal" if proven and not repaired else "feasible"
    if not any(o.free_steps for o in instance.orders):
        status = "optimal"
    if status == "optimal":
        bound = objective  # proven (to the cent: the model's terms are whole cents)
    plan = Plan(status=status, objective=objective, allocations=plan.allocations,
                unplaced=plan.unplaced)
    wall = time.perf_counter() - clock
    return SolveResult(
        plan=plan, status=status, objective=objective, bound=bound,
        gap=(objective - bound) / max(1.0, abs(objective)), wall_s=wall,
        greedy_objective=None if greedy_plan is None else greedy_plan.objective,
        components=len(comps), variables=variables,
        stats={"index_s": t_index, "greedy_s": t_greedy, "raw_bound": bound_cny + fixed,
               "chain_greedy_objective": chain_plan.objective,
               "unmodelled_components": float(unmodelled)})


def lns_neighbourhoods(size: int, budget: float, options: SolverOptions
                       ) -> lns.Neighbourhoods | None:
    """How a component of ``size`` eligible pairs is improved by LNS, or None for one model.
    With ``options.lns_min_pairs``: wide neighbourhoods above it. Otherwise wide ones above
    ``WHOLE_MODEL_MAX_PAIRS``, and narrow ones for a component bigger than one of them whose
    budget gives CP-SAT less than a worker-second per ``FULL_MODEL_PAIRS_PER_WORKER_S`` pairs
    (sizes, workers and budgets only: a deterministic replay decides the same)."""
    if options.lns_min_pairs is not None:
        return lns.WIDE if size > options.lns_min_pairs else None
    if size > WHOLE_MODEL_MAX_PAIRS:
        return lns.WIDE
    workers = max(1, options.threads)
    if size > lns.NARROW.max_pairs and size > FULL_MODEL_PAIRS_PER_WORKER_S * workers * budget:
        return lns.NARROW
    return None


def worth_modelling(size: int, budget: float, options: SolverOptions) -> bool:
    """Whether a component of ``size`` eligible pairs gets a model (CP-SAT's, or LNS's
    neighbourhoods) within ``budget`` seconds: always with a deterministic budget (a replay
    must do the same work), else only if building it takes at most ``MAX_BUILD_SHARE`` of the
    budget."""
    hoods = lns_neighbourhoods(size, budget, options)
    pairs = size if hoods is None else min(size, hoods.max_pairs)
    return options.deterministic or pairs / MODEL_PAIRS_PER_S <= MAX_BUILD_SHARE * budget


def _own_hint(orders: list[Order], hint: dict[str, str]) -> dict[str, str]:
    """The part of ``hint`` (step id → window id) about the free steps of ``orders``."""
    own = {s.id for o in orders for s in o.free_steps}
    return {sid: wid for sid, wid in hint.items() if sid in own}


def _lp_bound(instance: Instance, index: EligibilityIndex, orders: list[Order],
              eligible: dict[str, StepEligibility]) -> float:
    """``lp_bound``, or if GLOP fails the trivial bound (every order placed at no cost)."""
    bound = lp_bound(instance, index, orders, eligible)
    if bound is None:
        bound = sum(min(instance.params.unplaced_penalty * o.priority * len(o.free_steps), 0.0)
                    for o in orders)
    return bound


def components(orders: list[Order], eligible: dict[str, StepEligibility]) -> list[list[Order]]:
    """Orders linked by a shared candidate window (union-find), in the instance's order."""
    parent = list(range(len(orders)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for i, o in enumerate(orders):
        for s in o.free_steps:
            for w in eligible[s.id].windows.tolist():
                j = owner.setdefault(w, i)
                if j != i:
                    parent[root(i)] = root(j)
    groups: dict[int, list[Order]] = {}
    for i, o in enumerate(orders):
        groups.setdefault(root(i), []).append(o)
    return list(groups.values())


def solver_parameters(solver: cp_model.CpSolver, options: SolverOptions, budget: float) -> None:
    p = solver.parameters
    p.num_workers = max(1, options.threads)
    p.random_seed = options.seed
    p.relative_gap_limit = options.gap_limit
    p.cp_model_presolve = options.presolve
    if options.deterministic:
        p.interleave_search = True
        p.max_deterministic_time = budget
    else:
        p.max_time_in_seconds = budget


def _solve_component(instance: Instance, index: EligibilityIndex, orders: list[Order],
                     eligible: dict[str, StepEligibility], *, hint: dict[str, str],
                     options: SolverOptions, budget: float, size: int
                     ) -> tuple[dict[str, str], float, bool, int]:
    """(step id → window id, lower bound in CNY, proven optimal, variables of the model)."""
    start = _own_hint(orders, hint)
    hoods = lns_neighbourhoods(size, budget, options)
    if hoods is not None:
        bound = _lp_bound(instance, index, orders, eligible)
        placement, _ = lns.improve(
            instance, index, orders, eligible, start, budget_s=budget, threads=options.threads,
            seed=options.seed, deterministic=options.deterministic, presolve=options.presolve,
            hoods=hoods, target=bound, gap_limit=options.gap_limit)
        return placement, bound, False, 0
    clock = time.perf_counter()
    sm = build_model(ModelData.build(instance, index, orders, eligible))
    if options.hints:
        add_hints(sm, start)
    solver = cp_model.CpSolver()
    if not options.deterministic:  # the build came out of the component's wall-clock budget
        budget = max(MIN_COMPONENT_S, budget - (time.perf_counter() - clock))
    solver_parameters(solver, options, budget)
    status = solver.solve(sm.model)
    n_vars = len(sm.x) + len(sm.placed) + len(sm.uses)
    # objective terms are rounded to the cent: the bound holds for the exact objective less
    # half a cent per step
    bound = solver.best_objective_bound / CENTS - 0.005 * sum(len(o.free_steps) for o in orders)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        logger.warning("component of %d orders: CP-SAT says %s; placed greedily",
                       len(orders), solver.status_name(status))
        return {}, bound, False, n_vars
    # OPTIMAL also when the gap limit stopped the search: proven only when the bound meets
    # the objective (whole cents)
    optimal = status == cp_model.OPTIMAL and (
        solver.objective_value - solver.best_objective_bound < 1.0)
    if solver.objective_value + 0.5 >= lns.plan_value(sm, start):
        return start, bound, optimal, n_vars  # no better than the hint: keep the hint
    ids = index.window_ids
    chosen = {s_id: ids[w] for (s_id, w), var in sm.x.items() if solver.boolean_value(var)}
    return chosen, bound, optimal, n_vars


def _unplaceable(fast: IndexedGreedy, order: Order, nothing_placed: PlanState
                 ) -> list[Unplaced]:
    """The order's unplaced steps if no plan can place it (else an empty list)."""
    steps, cyclic = greedy.topological(order.steps)
    if cyclic:
        return _fail(order, cyclic[0].id, reasons.NO_WINDOW_BEFORE_DUE,
                     "the step's precedence constraints form a cycle")
    for s in steps:
        reason = fast.eligible[s.id].reason if s.pinned_window is None else None
        if reason is not None:
            _, detail = fast.explain(fast.instance, order, s, nothing_placed)
            return _fail(order, s.id, reason, detail)
    return []


def _fail(order: Order, failing: str, reason: str, detail: str) -> list[Unplaced]:
    return [Unplaced(s.id, order.id, reason, detail) if s.id == failing else
            Unplaced(s.id, order.id, reasons.ORDER_INCOMPLETE,
                     f"step {failing} of this order could not be placed ({reason}); orders "
                     "are placed whole or not at all")
            for s in order.free_steps]


def _read_back(fast: IndexedGreedy, modelled: list[Order], placement: dict[str, str],
               unplaced: list[Unplaced]) -> tuple[Plan, int]:
    """The plan, and how many orders the repair pass placed."""
    instance = fast.instance
    state = PlanState.initial(instance)
    by_order: dict[str, list[Allocation]] = {}
    for o in modelled:
        if all(s.id in placement for s in o.free_steps):
            for s in o.free_steps:
                state.place(s, placement[s.id])
            by_order[o.id] = [greedy.allocation(instance, o, s, placement[s.id])
                              for s in o.free_steps]
    left = [o for o in modelled if o.id not in by_order]
    failed: dict[str, list[Unplaced]] = {}
    repaired = 0
    for o in sorted(left, key=lambda o: (-o.priority, o.due, o.id)):
        allocated, why = fast.place_order(o, state)  # the repair pass
        if allocated:
            by_order[o.id] = allocated
            repaired += 1
        else:
            failed[o.id] = why
    allocations = [a for o in instance.orders for a in by_order.get(o.id, [])]
    static = {u.step_id: u for u in unplaced}
    for o in left:
        static.update({u.step_id: u for u in failed.get(o.id, [])})
    ordered = [static[s.id] for o in instance.orders for s in o.free_steps if s.id in static]
    return Plan(status="feasible", objective=plan_objective(instance, allocations, ordered),
                allocations=tuple(allocations), unplaced=tuple(ordered)), repaired
