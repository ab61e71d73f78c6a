"""The greedy of ``greedy.py`` on top of the eligibility index: the same plan, much faster.

``greedy.place_order`` runs the whole funnel over every window for every step. Here the
static stages come from the index once; per step only the stages that depend on the plan
being built are tested (precedence with siblings placed in this pass, free hours left,
``max_factories``), over the step's eligible windows taken in the greedy's order of
preference: a different ``choose`` for ``greedy.place_order``. A step that finds no window gets
the funnel's reason and detail from ``explain``: the index's stage counts, and the stages that
depend on the plan tested over the step's statically eligible windows as arrays.
The solver uses it for its hint and for the repair pass; a test checks that it returns what
``greedy.solve`` returns.
"""

from __future__ import annotations

import numpy as np

from services.matcher.domain import reasons
from services.matcher.domain.model import EPS, Allocation, Instance, Order, Plan, Step, Unplaced
from services.matcher.solver import greedy
from services.matcher.solver.eligibility import STATIC_STAGES, PlanState, stage_detail
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
        return greedy.place_order(self.instance, order, state, choose=self._best,
                                  why=self.explain)

    def explain(self, instance: Instance, order: Order, step: Step, state: PlanState
                ) -> tuple[str | None, str]:
        """``greedy.explain`` (the funnel's reason code and detail for ``step`` against
        ``state``) without a pass over every window."""
        e = self.eligible[step.id]
        for k, (stage, n) in enumerate(e.counts[1:], start=1):
            if n == 0 and stage in STATIC_STAGES:
                return e.reason, stage_detail(stage, order, step, e.counts[k - 1][1])
        ix = self.index
        windows = e.static  # precedence with every placed sibling, pinned ones too
        ok, used = self._with_siblings(order, step, state, windows, pinned_too=True)
        if not ok.any():
            return reasons.NO_WINDOW_BEFORE_DUE, stage_detail(
                "precedence", order, step, len(windows))
        windows = windows[ok]
        excluded = np.isin(windows, [ix.position[w] for w in step.excluded_windows
                                     if w in ix.position])
        ok = ~excluded & self._free_for(step, state, windows)
        if not ok.any():
            return reasons.CAPACITY_TAKEN, stage_detail(
                "free_capacity", order, step, len(windows), int(excluded.sum()))
        windows = windows[ok]
        limit = order.max_factories
        if limit is not None and len(used) >= limit and not np.isin(
                ix.factory[windows], sorted(used)).any():
            return reasons.TOO_MANY_FACTORIES, stage_detail(
                "max_factories", order, step, len(windows))
        return None, ""

    def _best(self, instance: Instance, order: Order, step: Step, state: PlanState
              ) -> str | None:
        """``greedy.cheapest_window`` on the index: the first ranked window still possible."""
        ix = self.index
        if self.eligible[step.id].reason is not None:
            return None
        ranked = self._preferred(order, step)
        # the index applied precedence with pinned siblings already
        ok, used = self._with_siblings(order, step, state, ranked, pinned_too=False)
        ok &= self._free_for(step, state, ranked)
        if order.max_factories is not None and len(used) >= order.max_factories:
            ok &= np.isin(ix.factory[ranked], sorted(used))
        hit = np.flatnonzero(ok)
        return ix.window_ids[int(ranked[hit[0]])] if len(hit) else None

    def _preferred(self, order: Order, step: Step) -> np.ndarray:
        """The step's eligible windows from best to worst (``EligibilityIndex.preference``),
        ranked once per step."""
        ranked = self._ranked.get(step.id)
        if ranked is None:
            ranked = self._ranked[step.id] = self.index.preference(
                order, step, self.eligible[step.id].windows)
        return ranked

    def _with_siblings(self, order: Order, step: Step, state: PlanState, windows: np.ndarray,
                       *, pinned_too: bool) -> tuple[np.ndarray, set[int]]:
        """Which of ``windows`` keep precedence (with transit) with the step's siblings placed
        in ``state`` (pinned ones only if ``pinned_too``); and the factories all placed
        siblings use."""
        ix = self.index
        fac, ends = ix.factory[windows], ix.end[windows]
        ok = np.ones(len(windows), dtype=bool)
        used: set[int] = set()
        for other in order.steps:
            wid = state.placement.get(other.id)
            if other.id == step.id or wid is None or wid not in ix.position:
                continue
            w = ix.position[wid]
            used.add(int(ix.factory[w]))
            if other.pinned_window is not None and not pinned_too:
                continue
            if other.id in step.after:
                transit = ix.transit_h(np.array([ix.factory[w]]), fac)[0]
                ok &= transit + step.hours <= (ends - ix.end[w]) + 1e-6
            elif step.id in other.after:
                transit = ix.transit_h(np.array([ix.factory[w]]), fac)[0]
                ok &= transit + other.hours <= (ix.end[w] - ends) + 1e-6
        return ok, used

    def _free_for(self, step: Step, state: PlanState, windows: np.ndarray) -> np.ndarray:
        """Which of ``windows`` have the step's hours free in ``state``."""
        ids = self.index.window_ids
        return np.array([state.free[ids[w]] + EPS >= step.hours for w in windows.tolist()],
                        dtype=bool)
