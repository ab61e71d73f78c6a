"""An independent plan checker: every DESIGN §4 constraint, for any solver's output.

``check_plan`` returns the violations as sentences (an empty list = the plan is feasible). It
re-derives everything from the instance and never trusts the plan's own numbers.
"""

from __future__ import annotations

from collections import defaultdict

from services.matcher.domain.costs import (
    delivery_km,
    objective,
    order_price,
    precedence_ok,
    price,
)
from services.matcher.domain.model import EPS, Instance, Plan
from services.matcher.solver.eligibility import static_violations

MONEY_TOLERANCE = 0.01  # allocations carry prices rounded to cents


class InfeasiblePlan(AssertionError):
    pass


def assert_feasible(instance: Instance, plan: Plan) -> None:
    problems = check_plan(instance, plan)
    if problems:
        raise InfeasiblePlan("; ".join(problems))


def check_plan(instance: Instance, plan: Plan) -> list[str]:
    out = _coverage(instance, plan)
    if out:
        return out  # the rest assumes each step is placed at most once on a known window
    placement = {s.id: s.pinned_window for o in instance.orders for s in o.steps
                 if s.pinned_window is not None}
    placement.update({a.step_id: a.window_id for a in plan.allocations})
    out += _eligibility(instance, plan)
    out += _capacity(instance, plan)
    out += _precedence(instance, plan, placement)
    out += _orders(instance, plan, placement)
    expected = objective(instance, plan.allocations, plan.unplaced)
    if abs(expected - plan.objective) > MONEY_TOLERANCE * max(1, len(plan.allocations)):
        out.append(f"objective {plan.objective:.2f} differs from the recomputed {expected:.2f}")
    return out


def _coverage(instance: Instance, plan: Plan) -> list[str]:
    out = []
    free = {s.id: o.id for o in instance.orders for s in o.free_steps}
    seen: set[str] = set()
    for a in plan.allocations:
        if a.step_id not in free or free[a.step_id] != a.order_id:
            out.append(f"allocation of unknown or pinned step {a.step_id}")
        if a.window_id not in instance.candidates:
            out.append(f"step {a.step_id} placed on unknown window {a.window_id}")
        if a.step_id in seen:
            out.append(f"step {a.step_id} placed twice")
        seen.add(a.step_id)
    for u in plan.unplaced:
        if u.step_id in seen:
            out.append(f"step {u.step_id} both placed and unplaced")
        if not u.reason:
            out.append(f"unplaced step {u.step_id} has no reason")
        seen.add(u.step_id)
    out += [f"step {s} neither placed nor unplaced" for s in free if s not in seen]
    return out


def _eligibility(instance: Instance, plan: Plan) -> list[str]:
    out = []
    for a in plan.allocations:
        order = instance.orders_by_id[a.order_id]
        step = next(s for s in order.steps if s.id == a.step_id)
        c = instance.candidates[a.window_id]
        out += [f"step {step.id} on window {a.window_id}: {why}"
                for why in static_violations(instance, order, step, a.window_id)]
        if abs(a.hours - step.hours) > EPS:
            out.append(f"step {step.id}: allocated {a.hours} h, needs {step.hours} h")
        if (a.machine_id, a.factory_id) != (c.machine.id, c.factory.id):
            out.append(f"step {step.id}: machine/factory do not match window {a.window_id}")
        expected = price(step, c, order, instance.params)
        if abs(a.price - expected) > MONEY_TOLERANCE:
            out.append(f"step {step.id}: price {a.price} != {expected:.2f}")
        if abs(a.transport_km - delivery_km(c, order)) > 0.01:
            out.append(f"step {step.id}: transport_km {a.transport_km} is wrong")
    return out


def _capacity(instance: Instance, plan: Plan) -> list[str]:
    used: dict[str, float] = defaultdict(float)
    for a in plan.allocations:
        used[a.window_id] += a.hours
    return [f"window {wid}: {hours:g} h placed, {instance.candidates[wid].window.hours:g} free"
            for wid, hours in used.items()
            if hours > instance.candidates[wid].window.hours + 1e-6]


def _precedence(instance: Instance, plan: Plan, placement: dict[str, str]) -> list[str]:
    out = []
    placed_now = {a.step_id for a in plan.allocations}
    cands = instance.candidates
    for order in instance.orders:
        for b in order.steps:
            for a_id in b.after:
                if a_id not in placement or b.id not in placement:
                    continue
                if a_id not in placed_now and b.id not in placed_now:
                    continue  # both pinned: not this plan's doing
                wa, wb = cands.get(placement[a_id]), cands.get(placement[b.id])
                if wa is None or wb is None:
                    out.append(f"steps {a_id} → {b.id}: a window is unknown")
                elif not precedence_ok(before=wa, after=wb, after_hours=b.hours,
                                       params=instance.params):
                    out.append(f"steps {a_id} → {b.id}: {b.id} cannot finish in its window "
                               "after its predecessor (with transit)")
    return out


def _orders(instance: Instance, plan: Plan, placement: dict[str, str]) -> list[str]:
    """Atomic orders, max_factories and budget."""
    out = []
    placed_now = {a.step_id for a in plan.allocations}
    cands = instance.candidates
    for order in instance.orders:
        free = order.free_steps
        n_placed = sum(1 for s in free if s.id in placed_now)
        if 0 < n_placed < len(free):
            out.append(f"order {order.id}: {n_placed} of {len(free)} steps placed (not atomic)")
        if n_placed == 0:
            continue
        factories = {cands[placement[s.id]].factory.id for s in order.steps
                     if placement.get(s.id) in cands}
        if order.max_factories is not None and len(factories) > order.max_factories:
            out.append(f"order {order.id}: uses {len(factories)} factories, "
                       f"max {order.max_factories}")
        if order.budget is not None:
            total = order_price(instance, order, placement)
            if total > order.budget + EPS:
                out.append(f"order {order.id}: price {total:.2f} over budget {order.budget:.2f}")
    return out
