"""The greedy of ``greedy.py`` on top of the eligibility index: the same plan, much faster.

``greedy.place_order`` runs the whole funnel over every window for every step. Here the
static stages come from the index once; per step only the stages that depend on the plan
being built are tested (precedence with siblings placed in this pass, free hours left,
``max_factories``), over the step's eligible windows taken in the greedy's order of
preference: a different ``choose`` for ``greedy.place_order``, which runs the full funnel only
for a step that finds no window, for its reason and detail.
The solver uses it for its hint and for the repair pass; a test checks that it returns what
``greedy.solve`` returns.
"""

from __future__ import annotations

import numpy as np

from services.matcher.domain.model import EPS, Allocation, Instance, Order, Plan, Step, Unplaced
from services.matcher.solver import greedy
from services.matcher.solver.eligibility import PlanState
from services.matcher.solver.index import EligibilityIndex, StepEligibility


class IndexedGreedy:
    def __init__(self, instance: Instance, index: EligibilityIndex | None = None,
                 eligible: dict[str, StepEligibility] | None = None) -> None:
        self.instance = instance
        self.index = index or EligibilityIndex(instance)
        self.eligible = eligible if eligible is not None else self.index.eligible()
        self._ranked: dict[str, np.ndarray] = {}

    def solve(self) -> Plan:
        return greedy.solve(self.instance, place=self.place_order)

    def place_order(self, order: Order, state: PlanState
                    ) -> tuple[list[Allocation], list[Unplaced]]:
        """As ``greedy.place_order``: all free steps of ``order`` into ``state``, or none."""
        return greedy.place_order(self.instance, order, state, choose=self._best)

    def _best(self, instance: Instance, order: Order, step: Step, state: PlanState
              ) -> str | None:
        """``greedy.cheapest_window`` on the index: the first ranked window still possible."""
        ix = self.index
        if self.eligible[step.id].reason is not None:
            return None
        ranked = self._ranked.get(step.id)
        if ranked is None:
            ranked = self._ranked[step.id] = ix.preference(
                order, step, self.eligible[step.id].windows)
        ids = ix.window_ids
        ok = np.array([state.free[ids[w]] + EPS >= step.hours for w in ranked.tolist()],
                      dtype=bool)
        fac, ends = ix.factory[ranked], ix.end[ranked]
        used: set[int] = set()
        for other in order.steps:
            wid = state.placement.get(other.id)
            if other.id == step.id or wid is None or wid not in ix.position:
                continue
            w = ix.position[wid]
            used.add(int(ix.factory[w]))
            if other.pinned_window is not None:
                continue  # the index applied precedence with pinned siblings already
            transit = ix.transit_h(np.array([ix.factory[w]]), fac)[0]
            if other.id in step.after:
                ok &= transit + step.hours <= (ends - ix.end[w]) + 1e-6
            elif step.id in other.after:
                ok &= transit + other.hours <= (ix.end[w] - ends) + 1e-6
        if order.max_factories is not None and len(used) >= order.max_factories:
            ok &= np.isin(fac, sorted(used))
        hit = np.flatnonzero(ok)
        return ids[int(ranked[hit[0]])] if len(hit) else None
