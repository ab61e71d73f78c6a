"""The vectorised eligibility index agrees with the per-step funnel (same eligible windows in
the same order, same stage counts, same reason code) on random instances."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from services.matcher.solver import greedy
from services.matcher.solver import index as index_module
from services.matcher.solver.eligibility import PlanState, funnel
from services.matcher.solver.index import EligibilityIndex
from services.matcher.solver.indexed_greedy import IndexedGreedy
from tests.matcher.unit.builders import order, step
from tests.matcher.unit.test_eligibility import cluster
from tests.matcher.unit.test_property import random_instance


def _agree(inst) -> int:  # type: ignore[no-untyped-def]
    index = EligibilityIndex(inst)
    got = index.eligible()
    n = 0
    for o in inst.orders:
        for s in o.free_steps:
            f = funnel(inst, o, s)
            e = got[s.id]
            assert [index.window_ids[i] for i in e.windows] == list(f.eligible), s.id
            assert e.counts == tuple((c.stage, c.candidates) for c in f.stages), s.id
            assert e.reason == f.reason, s.id
            n += 1
    return n


@pytest.mark.parametrize("case", range(200))
def test_index_and_funnel_agree_on_random_instances(case: int) -> None:
    _agree(random_instance(random.Random(1000 + case)))


def test_index_covers_every_static_reason():
    for o in (order(steps=(step("s1", process="welding"),)),
              order(steps=(step("s1", material="titanium"),)),
              order(min_tier="excellent"), order(max_distance_km=2.5),
              order(blocked_factories=frozenset({"f1"})),
              order(allowed_factories=frozenset({"f2"})),
              order(steps=(step("s1", hours=20.5),))):
        assert _agree(cluster([o])) == 1
    assert EligibilityIndex(cluster([order(min_tier="excellent")])).eligible()["o1-s1"].reason \
        == "tier_below_minimum"


def test_the_indexed_explanation_is_the_funnels_against_any_partial_plan():
    """``IndexedGreedy.explain`` gives the funnel's reason code and detail for every free step
    against half of the greedy's plan placed (and against nothing placed), on random
    instances; the cases cover the stages that depend on the plan."""
    seen: Counter[str | None] = Counter()
    for case in range(150):
        rng = random.Random(7000 + case)
        inst = random_instance(rng)
        fast = IndexedGreedy(inst)
        steps = {s.id: s for o in inst.orders for s in o.steps}
        states = [PlanState.initial(inst), PlanState.initial(inst)]
        for a in greedy.solve(inst).allocations:
            if rng.random() < 0.5:
                states[1].place(steps[a.step_id], a.window_id)
        for state in states:
            for o in inst.orders:
                for s in o.free_steps:
                    if s.id in state.placement:
                        continue
                    f = funnel(inst, o, s, state)
                    assert fast.explain(inst, o, s, state) == (f.reason, f.detail), s.id
                    stage = next((c.stage for c in f.stages if c.candidates == 0), None)
                    seen[stage] += 1
    assert {"precedence", "free_capacity", "due_date", "distance"} <= set(seen), seen


def test_transit_hours_from_the_table_are_those_computed_pair_by_pair(monkeypatch):
    inst = next(i for seed in range(100) if len((i := random_instance(
        random.Random(seed))).factories) >= 3)
    n = len(EligibilityIndex(inst).factory_ids)
    rows, cols = np.array([0, n - 1, 1, 0]), np.array([n - 1, 0, 1, 2 % n])
    tabled = EligibilityIndex(inst).transit_h(rows, cols)
    monkeypatch.setattr(index_module, "TRANSIT_TABLE_MAX", 0)
    computed = EligibilityIndex(inst).transit_h(rows, cols)
    assert np.allclose(tabled, computed, rtol=0, atol=1e-9)
    assert tabled[2, 2] == 0.0 and tabled[0, 0] == tabled[1, 1] > 0
