"""The GAP solver's parts: Lagrangian bound, reduced-cost fixing, greedy + local search, LNS."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from services.matcher.solver.gap import kept_pairs
from services.matcher.solver.gap_bound import lagrangian_bound
from services.matcher.solver.gap_data import GapInstance, cost_of, violations
from services.matcher.solver.gap_heuristic import improve, regret_greedy
from services.matcher.solver.gap_lns import lns


def random_instance(rng: np.random.Generator, m: int, n: int, tightness: float) -> GapInstance:
    resource = rng.integers(1, 20, size=(m, n))
    return GapInstance(name="r", cost=rng.integers(0, 40, size=(m, n)), resource=resource,
                       capacity=np.maximum(1, (resource.mean(axis=0).sum() * tightness / m)
                                           ).astype(int).repeat(m)[:m])


def optimum(inst: GapInstance) -> int | None:
    values = [cost_of(inst, a) for a in itertools.product(range(inst.m), repeat=inst.n)
              if not violations(inst, a)]
    return min(values) if values else None


def test_lagrangian_bound_never_exceeds_the_optimum_and_fixing_keeps_it() -> None:
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(150):
        inst = random_instance(rng, int(rng.integers(2, 4)), int(rng.integers(2, 7)), 1.3)
        best = optimum(inst)
        if best is None:
            continue
        relaxation = lagrangian_bound(inst, time_limit=math.inf, max_iterations=200)
        assert relaxation.bound <= best
        assert (relaxation.reduced_cost >= -1e-9).all()
        # Fixing with UB = optimum + 1 must keep every optimal assignment's pairs.
        kept = set(kept_pairs(relaxation.reduced_cost, slack=best - relaxation.value,
                              incumbent=np.zeros(inst.n, dtype=np.int64)))
        for agents in itertools.product(range(inst.m), repeat=inst.n):
            if not violations(inst, agents) and cost_of(inst, agents) == best:
                assert all((i, j) in kept for j, i in enumerate(agents))
        checked += 1
    assert checked > 50


def test_local_search_keeps_feasibility_and_never_costs_more() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        inst = random_instance(rng, 4, 40, 1.5)
        start = regret_greedy(inst, inst.cost.astype(float))
        better = improve(inst, start)
        if not violations(inst, start):
            assert not violations(inst, better)
            assert cost_of(inst, better) <= cost_of(inst, start)


def test_local_search_stops_at_its_deadline() -> None:
    # A random assignment has improving moves; past its deadline the search makes none.
    rng = np.random.default_rng(6)
    inst = random_instance(rng, 4, 40, 3.0)
    start = rng.integers(0, 4, size=40)
    assert not violations(inst, start)
    assert cost_of(inst, improve(inst, start)) < cost_of(inst, start)
    late = improve(inst, start, deadline=time.monotonic() - 1)
    assert late.tolist() == start.tolist()


def test_lns_never_worsens_and_stays_feasible() -> None:
    rng = np.random.default_rng(8)
    inst = random_instance(rng, 6, 60, 1.6)
    relaxation = lagrangian_bound(inst)
    start = regret_greedy(inst, inst.cost.astype(float))
    assert not violations(inst, start)
    result, stats = lns(inst, start, reduced_cost=relaxation.reduced_cost,
                        deadline=time.monotonic() + 30, threads=2, max_steps=40)
    assert stats.steps > 0
    assert not violations(inst, result)
    assert cost_of(inst, result) <= cost_of(inst, start)


def test_lns_moves_to_a_cheaper_assignment_found_outside() -> None:
    # HiGHS beside the LNS offers its assignments; the search continues from a cheaper one
    # and never from a dearer one.
    rng = np.random.default_rng(8)
    inst = random_instance(rng, 6, 60, 1.6)
    relaxation = lagrangian_bound(inst)
    start = regret_greedy(inst, -inst.cost.astype(float))  # a dear one, on purpose
    better = regret_greedy(inst, inst.cost.astype(float))
    assert not violations(inst, start) and not violations(inst, better)
    assert cost_of(inst, better) < cost_of(inst, start) - 100
    offered = (cost_of(inst, better), better)
    result, stats = lns(inst, start, reduced_cost=relaxation.reduced_cost,
                        deadline=time.monotonic() + 30, threads=1, max_steps=1,
                        outside=lambda: offered)
    assert stats.adopted == 1  # one step from the dear start alone cannot get this far
    assert cost_of(inst, result) <= offered[0] and not violations(inst, result)

    dearer = (cost_of(inst, start) + 1, start)
    result, stats = lns(inst, better, reduced_cost=relaxation.reduced_cost,
                        deadline=time.monotonic() + 30, threads=1, max_steps=1,
                        outside=lambda: dearer)
    assert stats.adopted == 0 and cost_of(inst, result) <= cost_of(inst, better)
