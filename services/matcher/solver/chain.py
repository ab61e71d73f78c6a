"""A better warm start than the greedy: each order's process chain placed as a whole.

The greedy gives every step its cheapest window, one step after the other, so a first step on
a cheap but late window often leaves its successor no window before the due date. Here an
order whose free steps form a chain (each after at most the previous one) gets the cheapest
sequence of windows that respects precedence with transit, by dynamic programming over the
steps (for each window of step k, the cheapest compatible window sequence of steps 1…k),
against the free hours left. When the chain is not one, or its result breaks a rule the DP
does not see (two steps on one window, ``max_factories``, the budget), the order falls back to
the greedy's ``place_order``. Orders go by priority, then due date, as in the greedy.
"""

from __future__ import annotations

import numpy as np

from services.matcher.domain.costs import order_price
from services.matcher.domain.model import EPS, Allocation, Order, Step, Unplaced
from services.matcher.solver import greedy
from services.matcher.solver.eligibility import PlanState
from services.matcher.solver.indexed_greedy import IndexedGreedy


class ChainGreedy(IndexedGreedy):
    def place_order(self, order: Order, state: PlanState
                    ) -> tuple[list[Allocation], list[Unplaced]]:
        choice = self._chain(order, state)
        if choice is not None:
            for s, wid in choice:
                state.place(s, wid)
            ok = self._within_limits(order, state)
            if ok:
                return [greedy.allocation(self.instance, order, s, wid) for s, wid in choice], []
            for s, _ in reversed(choice):
                state.undo(s)
        return super().place_order(order, state)

    def _within_limits(self, order: Order, state: PlanState) -> bool:
        cands = self.instance.candidates
        if any(state.free[w] < -EPS for s in order.free_steps
               if (w := state.placement.get(s.id)) is not None):
            return False
        if order.max_factories is not None:
            used = {cands[w].factory.id for s in order.steps
                    if (w := state.placement.get(s.id)) in cands}
            if len(used) > order.max_factories:
                return False
        if order.budget is not None:
            return order_price(self.instance, order, state.placement) <= order.budget + EPS
        return True

    def _chain(self, order: Order, state: PlanState) -> list[tuple[Step, str]] | None:
        steps, cyclic = greedy.topological(order.steps)
        free_steps = [s for s in steps if s.pinned_window is None]
        if cyclic or not free_steps:
            return None
        free_ids = {s.id for s in free_steps}
        for k, s in enumerate(free_steps):
            preds = [a for a in s.after if a in free_ids]
            if len(preds) > 1 or (preds and (k == 0 or preds[0] != free_steps[k - 1].id)):
                return None  # not a chain
        ix, ids = self.index, self.index.window_ids
        total: np.ndarray | None = None
        windows: list[np.ndarray] = []
        back: list[np.ndarray] = []
        for k, s in enumerate(free_steps):
            if self.eligible[s.id].reason is not None:
                return None
            w = self._preferred(order, s)
            w = w[self._free_for(s, state, w)]
            if len(w) == 0:
                return None
            _, cost = ix.prices(order, s, w)
            if total is None:
                total = cost
            else:
                prev = windows[-1]
                if free_steps[k - 1].id in s.after:
                    fits = (ix.transit_h(ix.factory[prev], ix.factory[w]) + s.hours
                            <= (ix.end[w][None, :] - ix.end[prev][:, None]) + 1e-6)
                else:
                    fits = np.ones((len(prev), len(w)), dtype=bool)
                options = np.where(fits, total[:, None], np.inf)
                best = options.argmin(axis=0)
                total = options[best, np.arange(len(w))] + cost
                back.append(best)
            windows.append(w)
        assert total is not None
        if not np.isfinite(total).any():
            return None
        j = int(np.argmin(total))
        picks = [j]
        for best in reversed(back):
            j = int(best[j])
            picks.append(j)
        picks.reverse()
        return [(s, ids[int(windows[k][picks[k]])]) for k, s in enumerate(free_steps)]
