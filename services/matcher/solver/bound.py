"""A lower bound for components solved by LNS (too big for CP-SAT to bound in time).

An LP relaxation over whole orders: y[o] ∈ [0, 1] is the share of order o placed; a placed
order costs at least the sum over its steps of the cheapest eligible window's objective term,
an unplaced one its penalty. Capacity is aggregated per process and due date: the steps of
process p of the orders due by D can only use windows of p that end by D, so their hours are
at most those windows' free hours. Every plan satisfies these rows, so the LP optimum (GLOP)
bounds the component's objective from below.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
from ortools.linear_solver import pywraplp

from services.matcher.domain.model import Instance, Order
from services.matcher.solver.index import EligibilityIndex, StepEligibility, hours_since_epoch

logger = logging.getLogger(__name__)


def lp_bound(instance: Instance, index: EligibilityIndex, orders: list[Order],
             eligible: dict[str, StepEligibility]) -> float | None:
    """The bound in CNY, or None if GLOP does not solve the LP."""
    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:
        return None
    penalty = instance.params.unplaced_penalty
    y, constant, objective = {}, 0.0, lp.Objective()
    demand: dict[str, dict[float, list[tuple[str, float]]]] = defaultdict(
        lambda: defaultdict(list))
    windows: dict[str, set[int]] = defaultdict(set)
    for o in orders:
        cheapest = 0.0
        for s in o.free_steps:
            w = eligible[s.id].windows
            _, term = index.prices(o, s, w)
            cheapest += float(term.min())
            windows[s.process].update(w.tolist())
            demand[s.process][hours_since_epoch(o.due)].append((o.id, s.hours))
        pen = penalty * o.priority * len(o.free_steps)
        y[o.id] = lp.NumVar(0.0, 1.0 if order_possible(index, o, eligible) else 0.0,
                            f"y[{o.id}]")
        objective.SetCoefficient(y[o.id], cheapest - pen)
        constant += pen
    objective.SetMinimization()
    for process, by_due in demand.items():
        ws = np.array(sorted(windows[process]), dtype=np.int64)
        ends, free = index.end[ws], index.free[ws]
        order_hours: dict[str, float] = defaultdict(float)
        for due in sorted(by_due):
            for oid, hours in by_due[due]:
                order_hours[oid] += hours
            row = lp.Constraint(-lp.infinity(), float(free[ends <= due + 1e-9].sum()))
            for oid, hours in order_hours.items():
                row.SetCoefficient(y[oid], hours)
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        logger.warning("the LP bound was not solved")
        return None
    return constant + objective.Value()


def order_possible(index: EligibilityIndex, order: Order,
                   eligible: dict[str, StepEligibility]) -> bool:
    """False if no plan can place the order even alone: its free steps' cheapest prices
    exceed its budget, or ``chain_possible`` fails (for an order limited to one factory, in
    every factory with an eligible window for each free step and its pinned steps)."""
    if order.budget is not None:
        cheapest = sum(float(index.prices(order, s, eligible[s.id].windows)[0].min())
                       for s in order.free_steps)
        if cheapest > order.budget + 1e-6:
            return False
    if order.max_factories != 1:
        return chain_possible(index, order, eligible)
    factories: set[int] | None = {int(index.factory[index.position[s.pinned_window]])
                                  for s in order.steps if s.pinned_window in index.position}
    if factories is not None and len(factories) > 1:
        return False
    factories = factories or None
    for s in order.free_steps:
        here = set(index.factory[eligible[s.id].windows].tolist())
        factories = here if factories is None else factories & here
    return any(chain_possible(index, order, eligible, factory=f) for f in sorted(factories or ()))


def chain_possible(index: EligibilityIndex, order: Order,
                   eligible: dict[str, StepEligibility], factory: int | None = None) -> bool:
    """Whether the order's free steps fit their eligible windows (of ``factory`` only, if
    given) in precedence order when transit, capacity, the budget and ``max_factories`` are
    ignored (a relaxation: if not, no plan places the order). Each step's earliest possible
    end, in topological order."""
    earliest: dict[str, float] = {}
    for s in order.steps:
        if s.pinned_window is not None and s.pinned_window in index.position:
            earliest[s.id] = float(index.end[index.position[s.pinned_window]])
    pending = [s for s in order.free_steps]
    while pending:
        ready = [s for s in pending if all(a in earliest for a in s.after
                                           if any(x.id == a for x in order.steps))]
        if not ready:
            return False  # a cycle
        for s in ready:
            w = eligible[s.id].windows
            if factory is not None:
                w = w[index.factory[w] == factory]
            ends = index.end[w]
            start = max((earliest[a] for a in s.after if a in earliest), default=-np.inf)
            ok = ends[ends - s.hours + 1e-6 >= start]
            if len(ok) == 0:
                return False
            earliest[s.id] = float(ok.min())
            pending.remove(s)
    return True
