"""A simple greedy plan: orders by priority then due date, each step on its cheapest eligible
window, each order all-or-nothing.

Within an order, steps go in topological order of ``after``; each takes the eligible window (see
``eligibility.funnel``) with the lowest objective term, ties broken by earlier end, then id. Its
hours are deducted tentatively; if a step finds no window, or the order ends over its budget, the
order's tentative placements are undone and its steps are reported unplaced with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from services.matcher.domain import reasons
from services.matcher.domain.costs import delivery_km, objective, objective_term, order_price
from services.matcher.domain.costs import price as step_price
from services.matcher.domain.model import EPS, Allocation, Instance, Order, Plan, Step, Unplaced
from services.matcher.solver.eligibility import PlanState, funnel

logger = logging.getLogger(__name__)

# Picks the window for one step given the plan so far (None: no window left for it).
Chooser = Callable[[Instance, Order, Step, PlanState], str | None]
# Why no window is left for one step given the plan so far: (reason code, detail).
Explainer = Callable[[Instance, Order, Step, PlanState], tuple[str | None, str]]
# Places one order whole into the plan, or none of it.
Placer = Callable[[Order, PlanState], tuple[list[Allocation], list[Unplaced]]]


def solve(instance: Instance, place: Placer | None = None) -> Plan:
    """The greedy plan; ``place`` replaces ``place_order`` (the indexed and chain variants)."""
    state = PlanState.initial(instance)
    allocations: list[Allocation] = []
    unplaced: list[Unplaced] = []
    for order in sorted(instance.orders, key=lambda o: (-o.priority, o.due, o.id)):
        if order.free_steps:
            placed, failed = (place(order, state) if place is not None
                              else place_order(instance, order, state))
            allocations.extend(placed)
            unplaced.extend(failed)
    anything = any(o.free_steps for o in instance.orders)
    return Plan(status="feasible" if anything else "optimal",
                objective=objective(instance, allocations, unplaced),
                allocations=tuple(allocations), unplaced=tuple(unplaced))


def cheapest_window(instance: Instance, order: Order, step: Step, state: PlanState
                    ) -> str | None:
    """The eligible window with the lowest objective term; ties: earlier end, then id."""
    f = funnel(instance, order, step, state)
    if f.reason is not None:
        return None
    cands, params = instance.candidates, instance.params
    return min(f.eligible, key=lambda w: (
        objective_term(step, cands[w], order, params), cands[w].window.end, w))


def explain(instance: Instance, order: Order, step: Step, state: PlanState
            ) -> tuple[str | None, str]:
    """The funnel's reason code and detail for ``step`` against ``state``."""
    f = funnel(instance, order, step, state)
    return f.reason, f.detail


def place_order(instance: Instance, order: Order, state: PlanState,
                choose: Chooser = cheapest_window, why: Explainer = explain
                ) -> tuple[list[Allocation], list[Unplaced]]:
    """Place every free step of ``order`` into ``state``, or none (``state`` is then as before).

    A step without a window gets the funnel's reason; its siblings ``order_incomplete``.
    """
    steps, cyclic = topological(order.steps)
    if cyclic:
        return [], _fail(order, cyclic[0], reasons.NO_WINDOW_BEFORE_DUE,
                         "the step's precedence constraints form a cycle")
    done: list[Step] = []
    for step in steps:
        if step.pinned_window is not None:
            continue
        best = choose(instance, order, step, state)
        if best is None:
            reason, detail = why(instance, order, step, state)
            _undo(state, done)
            return [], _fail(order, step, reason or reasons.CAPACITY_TAKEN, detail)
        state.place(step, best)
        done.append(step)
    if order.budget is not None:
        total = order_price(instance, order, state.placement)
        if total > order.budget + EPS:
            _undo(state, done)
            detail = (f"the cheapest plan found costs {total:.2f} CNY, over the order's budget "
                      f"of {order.budget:.2f} CNY")
            return [], [Unplaced(s.id, order.id, reasons.OVER_BUDGET, detail)
                        for s in order.free_steps]
    return [allocation(instance, order, s, state.placement[s.id]) for s in done], []


def allocation(instance: Instance, order: Order, step: Step, window_id: str) -> Allocation:
    c = instance.candidates[window_id]
    return Allocation(
        step_id=step.id, order_id=order.id, window_id=window_id, machine_id=c.machine.id,
        factory_id=c.factory.id, hours=step.hours,
        price=round(step_price(step, c, order, instance.params), 2),
        transport_km=round(delivery_km(c, order), 3),
    )


def topological(steps: Sequence[Step]) -> tuple[list[Step], list[Step]]:
    """Steps ordered so each comes after its predecessors (stable); and those on a cycle."""
    ids = {s.id for s in steps}
    waiting = {s.id: {a for a in s.after if a in ids} for s in steps}
    ordered: list[Step] = []
    done: set[str] = set()
    progress = True
    while progress:
        progress = False
        for s in steps:
            if s.id not in done and waiting[s.id] <= done:
                ordered.append(s)
                done.add(s.id)
                progress = True
    return ordered, [s for s in steps if s.id not in done]


def _undo(state: PlanState, done: list[Step]) -> None:
    for s in reversed(done):
        state.undo(s)


def _fail(order: Order, failing: Step, reason: str, detail: str) -> list[Unplaced]:
    """The failing step gets ``reason``; its free siblings ``order_incomplete``."""
    out = []
    for s in order.free_steps:
        if s.id == failing.id:
            out.append(Unplaced(s.id, order.id, reason, detail))
        else:
            out.append(Unplaced(s.id, order.id, reasons.ORDER_INCOMPLETE,
                                f"step {failing.id} of this order could not be placed "
                                f"({reason}); orders are placed whole or not at all"))
    return out
