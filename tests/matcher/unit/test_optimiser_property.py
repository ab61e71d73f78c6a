"""Properties of the optimiser on random instances (hypothesis draws the instance's seed and
the solver's options): every plan passes the independent checker (every DESIGN §4 rule), is
never worse than the greedy's, and deterministic solves repeat exactly."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.matcher.domain import reasons
from services.matcher.domain.scenario import from_scenario
from services.matcher.solver import greedy
from services.matcher.solver.check import check_plan
from services.matcher.solver.generate import generate
from services.matcher.solver.indexed_greedy import IndexedGreedy
from services.matcher.solver.solve import SolverOptions, solve
from tests.matcher.unit.test_property import random_instance

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(case=st.integers(0, 10**6), hints=st.booleans(), lns=st.booleans(),
       threads=st.sampled_from([1, 2]))
def test_every_optimiser_plan_is_feasible_and_no_worse_than_the_greedy(
        case: int, hints: bool, lns: bool, threads: int) -> None:
    inst = random_instance(random.Random(case))
    result = solve(inst, SolverOptions(time_limit_s=0.5, threads=threads, hints=hints,
                                       seed=case % 7, lns_min_pairs=0 if lns else 20000,
                                       deterministic=True))
    assert check_plan(inst, result.plan) == []
    assert result.objective <= greedy.solve(inst).objective + 1e-6
    assert result.bound <= result.objective + 1e-6 and 0 <= result.gap <= 1
    assert all(u.reason in reasons.ALL and u.detail for u in result.plan.unplaced)


@FAST
@given(case=st.integers(0, 10**6))
def test_the_lp_bound_never_exceeds_a_proven_optimum(case: int) -> None:
    inst = random_instance(random.Random(case))
    exact = solve(inst, SolverOptions(time_limit_s=2.0, threads=1, deterministic=True))
    assume(exact.status == "optimal")
    lp = solve(inst, SolverOptions(time_limit_s=0.2, threads=1, deterministic=True,
                                   lns_min_pairs=0))
    assert lp.stats["raw_bound"] <= exact.objective + 1e-6
    assert exact.stats["raw_bound"] <= exact.objective + 1e-6


@FAST
@given(case=st.integers(0, 10**6))
def test_the_indexed_greedy_is_the_greedy(case: int) -> None:
    inst = random_instance(random.Random(case))
    assert IndexedGreedy(inst).solve() == greedy.solve(inst)


def test_deterministic_solves_repeat_exactly_with_the_full_model_and_with_lns() -> None:
    inst = from_scenario(generate(factories=25, orders=70, seed=11))
    for lns_min_pairs in (20000, 200):
        options = SolverOptions(time_limit_s=1.0, threads=2, seed=3, deterministic=True,
                                lns_min_pairs=lns_min_pairs)
        first, second = solve(inst, options), solve(inst, options)
        assert first.plan.allocations == second.plan.allocations
        assert first.plan.unplaced == second.plan.unplaced
        assert first.objective == second.objective
        assert check_plan(inst, first.plan) == []


def test_generated_scenarios_are_solved_feasibly_and_beat_the_greedy() -> None:
    inst = from_scenario(generate(factories=30, orders=90, seed=5))
    result = solve(inst, SolverOptions(time_limit_s=2.0, threads=2, lns_min_pairs=500))
    assert check_plan(inst, result.plan) == []
    assert result.greedy_objective is not None and result.objective < result.greedy_objective
