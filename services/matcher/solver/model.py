"""The CP-SAT model of DESIGN §4 for a set of orders (one independent component of a cluster).

Sections in the order of the OR-Tools samples: data (``ModelData``: the eligible pairs and
their integer coefficients) → model → variables → constraints (one ``add_<rule>_constraints``
per rule) → objective. ``solve.py`` runs it and reads the plan back.

Integer units (CP-SAT needs integers; every rounding errs on the safe side, so a solution of
the model always passes ``check.py``):

- hours × 100 (``HOUR_UNITS``): a step's hours are rounded up, a window's free hours down;
- money in cents (× 100): the objective's terms are rounded to the nearest cent (the reported
  objective is recomputed in CNY from the plan); prices in a budget constraint are rounded up
  and the budget down;
- times in whole seconds since the earliest window end of the instance (``add_precedence``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from services.matcher.domain.costs import order_price
from services.matcher.domain.model import Instance, Order, Step
from services.matcher.solver.index import EligibilityIndex, StepEligibility

HOUR_UNITS = 100  # model units per hour
CENTS = 100  # model units per CNY


def hour_units_up(hours: float) -> int:
    return math.ceil(hours * HOUR_UNITS - 1e-6)


def hour_units_down(hours: float) -> int:
    return math.floor(hours * HOUR_UNITS + 1e-6)


@dataclass(frozen=True)
class Pair:
    """Step ``step`` of ``order`` on window ``window`` (an index of the ``EligibilityIndex``)."""

    order: Order
    step: Step
    window: int
    cost: int  # objective term in cents: price − SME bonus
    price: int  # price in cents, rounded up (for the budget)


@dataclass
class ModelData:
    """The orders of one component with the pairs the model may choose from."""

    instance: Instance
    index: EligibilityIndex
    orders: list[Order]
    pairs: dict[str, list[Pair]]  # free step id → its eligible pairs

    free: np.ndarray | None = None  # free hours per window (default: the index's)

    @classmethod
    def build(cls, instance: Instance, index: EligibilityIndex, orders: Sequence[Order],
              eligible: dict[str, StepEligibility], free: np.ndarray | None = None
              ) -> ModelData:
        """``free`` overrides the windows' free hours (LNS: minus the hours of the orders
        outside the neighbourhood); windows without room for a step are not its pairs."""
        p, ix = instance.params, index
        pairs: dict[str, list[Pair]] = {}
        for o in orders:
            km_row = ix.delivery_km[ix.order_pos[o.id]]
            for s in o.free_steps:
                w = eligible[s.id].windows
                if free is not None:
                    w = w[free[w] + 1e-9 >= s.hours]
                price = s.hours * ix.rate[w] + p.transport_cost_per_km * km_row[ix.factory[w]]
                cost = price - np.where(ix.sme[w], p.sme_bonus_per_hour * s.hours, 0.0)
                pairs[s.id] = [Pair(o, s, wi, round(c * CENTS), math.ceil(pr * CENTS))
                               for wi, c, pr in zip(w.tolist(), cost.tolist(), price.tolist(),
                                                    strict=True)]
        return cls(instance=instance, index=index, orders=list(orders), pairs=pairs,
                   free=free)

    def capacity(self, w: int) -> float:
        return float(self.free[w] if self.free is not None else self.index.free[w])

    def penalty(self, order: Order) -> int:
        """Cents the objective pays if ``order`` stays unplaced (per free step)."""
        per_step = self.instance.params.unplaced_penalty * order.priority
        return int(round(per_step * CENTS)) * len(order.free_steps)


@dataclass
class ScenarioModel:
    model: cp_model.CpModel
    data: ModelData
    x: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)
    placed: dict[str, cp_model.IntVar] = field(default_factory=dict)
    uses: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)
    precedence_conflicts: int = 0


def build_model(data: ModelData) -> ScenarioModel:
    sm = ScenarioModel(model=cp_model.CpModel(), data=data)
    add_variables(sm)
    add_atomic_order_constraints(sm)
    add_capacity_constraints(sm)
    add_precedence_constraints(sm)
    add_max_factories_constraints(sm)
    add_budget_constraints(sm)
    set_objective(sm)
    return sm


def add_variables(sm: ScenarioModel) -> None:
    """x[step, window] for every eligible pair; placed[order] for every order."""
    ids = sm.data.index.window_ids
    for o in sm.data.orders:
        sm.placed[o.id] = sm.model.new_bool_var(f"placed[{o.id}]")
        for s in o.free_steps:
            for pair in sm.data.pairs[s.id]:
                sm.x[s.id, pair.window] = sm.model.new_bool_var(f"x[{s.id},{ids[pair.window]}]")


def add_atomic_order_constraints(sm: ScenarioModel) -> None:
    """Each free step of an order takes exactly one window if the order is placed, else none."""
    for o in sm.data.orders:
        for s in o.free_steps:
            chosen = [sm.x[s.id, p.window] for p in sm.data.pairs[s.id]]
            if chosen:
                sm.model.add(cp_model.LinearExpr.sum(chosen) == sm.placed[o.id])
            else:
                sm.model.add(sm.placed[o.id] == 0)


def add_capacity_constraints(sm: ScenarioModel) -> None:
    """Per window, the hours placed on it stay within its free hours (hours × 100)."""
    load: dict[int, list[tuple[cp_model.IntVar, int]]] = {}
    for (step_id, w), var in sm.x.items():
        load.setdefault(w, []).append((var, hour_units_up(sm.data.pairs[step_id][0].step.hours)))
    for w, terms in load.items():
        capacity = hour_units_down(sm.data.capacity(w))
        if sum(units for _, units in terms) > capacity:
            sm.model.add(cp_model.LinearExpr.weighted_sum(
                [var for var, _ in terms], [units for _, units in terms]) <= capacity)


def add_precedence_constraints(sm: ScenarioModel) -> None:
    """For b after a (both free): wa.end + transit_h(fa, fb) + b.hours ≤ wb.end.

    One linear constraint per arc on the chosen windows' end times (in seconds) states it
    without transit; the window pairs it lets through that transit between factories (or
    sub-second rounding) makes too tight are then forbidden pair by pair. Precedence with
    pinned siblings is already applied by the eligibility index."""
    ix, pairs = sm.data.index, sm.data.pairs
    origin = float(ix.end.min()) if len(ix.end) else 0.0
    seconds = np.round((ix.end - origin) * 3600.0).astype(np.int64)
    for o in sm.data.orders:
        free = {s.id: s for s in o.free_steps}
        for b in free.values():
            for a_id in b.after:
                if a_id not in free:
                    continue
                wa = np.array([p.window for p in pairs[a_id]], dtype=np.int64)
                wb = np.array([p.window for p in pairs[b.id]], dtype=np.int64)
                need = math.floor(b.hours * 3600.0 - 0.0036) - 1  # a relaxation of the rule
                if len(wa) == 0 or len(wb) == 0:
                    continue  # the order cannot be placed anyway
                sm.model.add(cp_model.LinearExpr.weighted_sum(
                    [sm.x[b.id, w] for w in wb.tolist()] + [sm.x[a_id, w] for w in wa.tolist()],
                    [int(seconds[w] - need) for w in wb.tolist()]
                    + [-int(seconds[w]) for w in wa.tolist()]) >= 0)
                linear_ok = seconds[wb][None, :] - seconds[wa][:, None] >= need
                exact_ok = (ix.transit_h(ix.factory[wa], ix.factory[wb]) + b.hours
                            <= (ix.end[wb][None, :] - ix.end[wa][:, None]) + 1e-6)
                for i, j in zip(*np.nonzero(linear_ok & ~exact_ok), strict=True):
                    sm.model.add_bool_or([sm.x[a_id, int(wa[i])].Not(),
                                          sm.x[b.id, int(wb[j])].Not()])
                    sm.precedence_conflicts += 1


def add_max_factories_constraints(sm: ScenarioModel) -> None:
    """A placed order uses at most ``max_factories`` factories, its pinned steps' included."""
    ix = sm.data.index
    for o in sm.data.orders:
        if o.max_factories is None:
            continue
        pinned = {int(ix.factory[ix.position[s.pinned_window]]) for s in o.steps
                  if s.pinned_window in ix.position}
        extra: list[cp_model.IntVar] = []
        for s in o.free_steps:
            for p in sm.data.pairs[s.id]:
                f = int(ix.factory[p.window])
                if f in pinned:
                    continue
                if (o.id, f) not in sm.uses:
                    sm.uses[o.id, f] = sm.model.new_bool_var(
                        f"uses[{o.id},{ix.factory_ids[f]}]")
                    extra.append(sm.uses[o.id, f])
                sm.model.add_implication(sm.x[s.id, p.window], sm.uses[o.id, f])
        room = o.max_factories - len(pinned)
        if room < 0:
            sm.model.add(sm.placed[o.id] == 0)
        elif len(extra) > room:
            sm.model.add(sum(extra) <= room).only_enforce_if(sm.placed[o.id])


def add_budget_constraints(sm: ScenarioModel) -> None:
    """A placed order's price (its pinned steps' included, no SME bonus) stays within budget."""
    inst = sm.data.instance
    for o in sm.data.orders:
        if o.budget is None:
            continue
        pinned = {s.id: s.pinned_window for s in o.steps if s.pinned_window is not None}
        fixed = math.ceil(order_price(inst, o, pinned) * CENTS)
        chosen = [(sm.x[s.id, p.window], p.price) for s in o.free_steps
                  for p in sm.data.pairs[s.id]]
        if not chosen:
            continue
        sm.model.add(cp_model.LinearExpr.weighted_sum(
            [v for v, _ in chosen], [c for _, c in chosen])
            <= math.floor(o.budget * CENTS) - fixed).only_enforce_if(sm.placed[o.id])


def set_objective(sm: ScenarioModel) -> None:
    """Σ placed (price − SME bonus) + Σ unplaced steps penalty × priority, in cents."""
    variables = [sm.x[s_id, p.window] for s_id, ps in sm.data.pairs.items() for p in ps]
    coeffs = [p.cost for ps in sm.data.pairs.values() for p in ps]
    variables += [sm.placed[o.id] for o in sm.data.orders]
    coeffs += [-sm.data.penalty(o) for o in sm.data.orders]
    constant = sum(sm.data.penalty(o) for o in sm.data.orders)  # as if nothing were placed
    sm.model.minimize(cp_model.LinearExpr.weighted_sum(variables, coeffs) + constant)


def add_hints(sm: ScenarioModel, placement: dict[str, str]) -> None:
    """A complete hint from a plan (step id → window id), e.g. the greedy's."""
    ix = sm.data.index
    chosen = {(sid, ix.position[wid]) for sid, wid in placement.items() if wid in ix.position}
    for key, var in sm.x.items():
        sm.model.add_hint(var, key in chosen)
    for o in sm.data.orders:
        sm.model.add_hint(sm.placed[o.id], all(s.id in placement for s in o.free_steps))
    used = {(oid, f) for (oid, f) in sm.uses
            for s in sm.data.instance.orders_by_id[oid].free_steps
            if s.id in placement and placement[s.id] in ix.position
            and int(ix.factory[ix.position[placement[s.id]]]) == f}
    for key, var in sm.uses.items():
        sm.model.add_hint(var, key in used)
