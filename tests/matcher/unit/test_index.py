"""The vectorised eligibility index agrees with the per-step funnel (same eligible windows in
the same order, same stage counts, same reason code) on random instances."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from services.matcher.solver import greedy
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
