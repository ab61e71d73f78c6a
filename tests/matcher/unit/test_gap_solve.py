"""The GAP solver on instances small enough to check by hand or by brute force."""

from __future__ import annotations

import itertools
import math
from concurrent.futures import Future
from dataclasses import replace

import numpy as np
import pytest

from services.matcher.solver import gap
from services.matcher.solver.gap_data import GapInstance, cost_of, parse_instance, violations
from services.matcher.solver.gap_model import CpResult


def instance(cost: list[list[int]], resource: list[list[int]], capacity: list[int]
             ) -> GapInstance:
    return GapInstance(name="t", cost=np.array(cost), resource=np.array(resource),
                       capacity=np.array(capacity))


def random_gap(*, seed: int, m: int, n: int, tightness: float, cost_high: int = 50
               ) -> GapInstance:
    """Sizes 5-24, costs 10 to ``cost_high`` - 1, each agent ``tightness`` of an even share."""
    rng = np.random.default_rng(seed)
    resource = rng.integers(5, 25, size=(m, n))
    return GapInstance(name="r", cost=rng.integers(10, cost_high, size=(m, n)),
                       resource=resource,
                       capacity=(resource.sum(axis=1) * tightness / m).astype(int))


def brute_force(inst: GapInstance) -> int | None:
    best = None
    for agents in itertools.product(range(inst.m), repeat=inst.n):
        if not violations(inst, agents):
            value = cost_of(inst, agents)
            best = value if best is None else min(best, value)
    return best


def test_hand_checked_optimum() -> None:
    # Job 0 is cheapest on agent 0, but only one of jobs 0 and 1 fits there (capacity 5, sizes
    # 4 and 3). Putting job 1 on agent 0 costs 2 + 4 + 1 = 7 (job 0 on agent 1 for 4), job 0 on
    # agent 0 costs 1 + 9 + 1 = 11 (job 1 on agent 1 for 9); job 2 (size 1) fits either way.
    inst = instance(cost=[[1, 2, 5], [4, 9, 1]], resource=[[4, 3, 1], [2, 2, 1]],
                    capacity=[5, 4])
    result = gap.solve(inst, time_limit=5, threads=1)
    assert result.status == "optimal"
    assert result.objective == 7
    assert result.bound == 7
    assert result.assignment == [1, 0, 1]


def test_infeasible_instance() -> None:
    # Three jobs of size 2, two agents of capacity 3: one agent would need 4.
    inst = instance(cost=[[1, 1, 1], [1, 1, 1]], resource=[[2, 2, 2], [2, 2, 2]],
                    capacity=[3, 3])
    result = gap.solve(inst, time_limit=5, threads=1)
    assert result.status == "infeasible"
    assert result.objective is None and result.assignment is None


def test_a_job_fitting_nowhere_is_infeasible() -> None:
    inst = instance(cost=[[1, 1]], resource=[[1, 9]], capacity=[5])
    assert gap.solve(inst, time_limit=5, threads=1).status == "infeasible"


def assert_matches_brute_force(*, seed: int, count: int, threads: int, agents: tuple[int, int],
                               jobs: tuple[int, int], capacity_low: int) -> None:
    """``count`` random tiny instances: proven optimum = brute force, or infeasible; both seen."""
    rng = np.random.default_rng(seed)
    infeasible = 0
    for _ in range(count):
        m, n = int(rng.integers(*agents)), int(rng.integers(*jobs))
        resource = rng.integers(1, 10, size=(m, n))
        inst = GapInstance(name="r", cost=rng.integers(0, 30, size=(m, n)), resource=resource,
                           capacity=rng.integers(capacity_low, 20, size=m))
        expected = brute_force(inst)
        result = gap.solve(inst, time_limit=2, threads=threads)
        if expected is None:
            infeasible += 1
            assert result.status == "infeasible"
            continue
        assert (result.status, result.objective, result.bound) == ("optimal", expected, expected)
        assert not violations(inst, result.assignment)
        assert cost_of(inst, result.assignment) == result.objective
    assert 0 < infeasible < count  # both kinds were exercised


def test_random_tiny_instances_match_brute_force() -> None:
    assert_matches_brute_force(seed=20261123, count=300, threads=1, agents=(1, 4), jobs=(1, 7),
                               capacity_low=1)


def test_bigger_random_instance_stays_feasible_and_bounded() -> None:
    inst = random_gap(seed=7, m=5, n=60, tightness=0.8)
    result = gap.solve(inst, time_limit=1, threads=1)
    assert result.status in ("optimal", "feasible")
    assert not violations(inst, result.assignment)
    assert result.bound is not None and result.bound <= result.objective


def test_deterministic_mode_repeats_exactly() -> None:
    inst = random_gap(seed=3, m=4, n=30, tightness=0.9)
    runs = [gap.solve(inst, time_limit=0.5, threads=2, seed=5, deterministic=True)
            for _ in range(2)]
    assert runs[0].assignment == runs[1].assignment
    assert runs[0].objective == runs[1].objective


def test_result_json_shape() -> None:
    inst = parse_instance("1 2 3 4 1 1 2", name="one")
    data = gap.solve(inst, time_limit=1, threads=1).as_json()
    assert set(data) == {"instance", "m", "n", "status", "objective", "bound", "wall_s",
                         "assignment"}
    assert data["assignment"] == [0, 0] and data["objective"] == 7


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_do_not_change_feasibility(threads: int) -> None:
    inst = instance(cost=[[3, 1], [1, 3]], resource=[[1, 1], [1, 1]], capacity=[1, 1])
    result = gap.solve(inst, time_limit=1, threads=threads)
    assert result.objective == 2 and result.assignment == [1, 0]


def test_portfolio_matches_brute_force_with_two_threads() -> None:
    # threads=2 on small instances runs HiGHS beside the pipeline: the combined result must
    # still be the proven optimum, and infeasibility must still be reported as such.
    assert_matches_brute_force(seed=11, count=40, threads=2, agents=(2, 4), jobs=(2, 7),
                               capacity_low=3)


def highs_found(status: str, objective: int | None, bound: float,
                assignment: list[int] | None) -> Future[CpResult]:
    """HiGHS's thread, finished with this result (what ``gap._best_of`` waits for)."""
    done: Future[CpResult] = Future()
    done.set_result(CpResult(status=status, objective=objective, bound=bound,
                             assignment=None if assignment is None else np.array(assignment)))
    return done


def pipeline_found(objective: int, bound: int, assignment: list[int]) -> gap.GapResult:
    return gap.GapResult(instance="t", m=2, n=3, status="feasible", objective=objective,
                         bound=bound, wall_s=1.0, assignment=assignment)


def two_local_optima() -> GapInstance:
    """Two full agents of capacity 4; jobs of size 2, 2 and 4. [0, 0, 1] (cost 15) and
    [1, 1, 0] (cost 3) are both feasible and no shift or swap leads from one to the other."""
    return instance(cost=[[5, 5, 1], [1, 1, 5]], resource=[[2, 2, 4], [2, 2, 4]],
                    capacity=[4, 4])


def test_highs_result_replaces_a_worse_pipeline_result() -> None:
    inst = two_local_optima()
    worse = pipeline_found(15, 1, [0, 0, 1])
    best = gap._best_of(inst, worse, highs_found("optimal", 3, 3.0, [1, 1, 0]), start=0.0)
    assert (best.status, best.objective, best.bound) == ("optimal", 3, 3)
    assert best.assignment == [1, 1, 0] and best.stats["winner"] == "highs"


def test_both_assignments_are_polished_before_they_are_compared() -> None:
    # Neither HiGHS's [0, 1, 1] (cost 11) nor the pipeline's is 1-opt here: exchanging jobs 0
    # and 1 gives the optimum, 7; the result has it, and says what the polish gained.
    inst = instance(cost=[[1, 2, 5], [4, 9, 1]], resource=[[4, 3, 1], [2, 2, 1]],
                    capacity=[5, 4])
    assert gap.polish(inst, np.array([0, 1, 1]))[0] == 7
    highs = highs_found("feasible", 11, 5.0, [0, 1, 1])
    best = gap._best_of(inst, pipeline_found(11, 5, [0, 1, 1]), highs, start=0.0)
    assert (best.objective, best.assignment) == (7, [1, 0, 1])
    assert best.stats["polish_gain"] == 4 and best.stats["highs_objective"] == 11


def test_portfolio_runs_highs_beside_the_pipeline_on_every_small_instance() -> None:
    # Type E (tight LP) and type D alike: HiGHS's assignment and bound take part in the result.
    from pathlib import Path

    from services.matcher.solver.gap_data import load

    data = Path(__file__).resolve().parents[4] / "shared" / "data" / "gap"
    if not data.is_dir():
        pytest.fail(f"benchmark data missing: {data}")
    for path in (data / "gap_e" / "e05100", data / "gap_d" / "d05100"):
        (inst,) = load(path)
        result = gap.solve(inst, time_limit=3, threads=2)
        assert "highs_objective" in result.stats, path.name
        assert result.objective <= result.stats["highs_objective"]
        assert not violations(inst, result.assignment)
        assert result.bound <= result.objective


@pytest.mark.timeout(30)  # uncancelled, HiGHS would search for the 60 s it is given
def test_a_cancelled_highs_search_stops_with_what_it_has() -> None:
    import threading
    from pathlib import Path

    from services.matcher.solver.gap_data import load
    from services.matcher.solver.gap_mip import solve_pairs_mip
    from services.matcher.solver.gap_model import all_pairs

    data = Path(__file__).resolve().parents[4] / "shared" / "data" / "gap"
    (inst,) = load(data / "gap_d" / "d10200")  # not provable in the seconds HiGHS would take
    cancel = threading.Event()
    cancel.set()
    result = solve_pairs_mip(inst, all_pairs(inst), time_limit=60, threads=1, cancel=cancel)
    assert result.status != "optimal"
    if result.assignment is not None:
        assert not violations(inst, result.assignment)


def test_highs_hands_over_every_improving_assignment() -> None:
    from services.matcher.solver.gap_mip import solve_pairs_mip
    from services.matcher.solver.gap_model import all_pairs

    inst = random_gap(seed=12, m=5, n=40, tightness=0.9)
    seen: list[np.ndarray] = []
    result = solve_pairs_mip(inst, all_pairs(inst), time_limit=30, threads=1,
                             on_solution=seen.append)
    assert seen, "HiGHS found assignments but handed none over"
    costs = [cost_of(inst, a) for a in seen]
    assert all(not violations(inst, a) for a in seen)
    assert costs == sorted(costs, reverse=True)
    assert costs[-1] == result.objective


def test_highs_says_optimal_only_when_proven_to_one_unit() -> None:
    # HiGHS stops at a relative gap of 0.01 %: with a large constant on every cost (which
    # changes no choice) that is hundreds of units, and its "optimal" is not a proof.
    from services.matcher.solver.gap_mip import solve_pairs_mip
    from services.matcher.solver.gap_model import all_pairs

    plain = random_gap(seed=4, m=6, n=40, tightness=0.8, cost_high=60)
    inst = replace(plain, cost=plain.cost + 10_000_000)
    result = solve_pairs_mip(inst, all_pairs(inst), time_limit=30, threads=1)
    assert result.objective is not None
    assert result.objective - math.ceil(result.bound - 1e-6) >= 1  # stopped within 0.01 % only
    assert result.status == "feasible"


def test_the_pipeline_continues_from_a_cheaper_highs_assignment() -> None:
    # In a tenth of a second the pipeline alone stays above what HiGHS found in its own time;
    # handed HiGHS's assignment, its result is never worse than it.
    from services.matcher.solver.gap_mip import solve_pairs_mip
    from services.matcher.solver.gap_model import all_pairs

    inst = random_gap(seed=12, m=8, n=120, tightness=0.8)
    highs = solve_pairs_mip(inst, all_pairs(inst), time_limit=5, threads=1)
    alone = gap._pipeline(inst, time_limit=0.1, threads=1, seed=0, deterministic=False)
    assert highs.objective is not None and highs.objective < alone.objective
    helped = gap._pipeline(inst, time_limit=0.1, threads=1, seed=0, deterministic=False,
                           outside=lambda: (highs.objective, highs.assignment))
    assert helped.objective <= highs.objective
    assert not violations(inst, helped.assignment)


def test_core_portfolio_matches_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every instance takes the large-instance path (HiGHS on a core beside the pipeline): the
    # result must still be the proven optimum, proven by the pipeline alone, or infeasible.
    monkeypatch.setattr(gap, "PORTFOLIO_MAX_PAIRS", 0)
    monkeypatch.setattr(gap, "CORE_MIP_MAX_SHARE", 1.0)
    cores: list[int] = []
    real = gap.highs_core

    def counted(inst: GapInstance, prepared: gap.Prepared) -> list[tuple[int, int]] | None:
        core = real(inst, prepared)
        if core is not None:
            cores.append(len(core))
        return core

    monkeypatch.setattr(gap, "highs_core", counted)
    assert_matches_brute_force(seed=12, count=40, threads=2, agents=(2, 4), jobs=(3, 7),
                               capacity_low=3)
    assert cores, "no instance ran HiGHS on a core"


def test_a_core_search_neither_bounds_nor_proves_the_instance() -> None:
    # HiGHS on a core: its assignment may win, but its bound, its "optimal" and its
    # "infeasible" hold for the core only.
    inst = two_local_optima()
    ours = pipeline_found(15, 1, [0, 0, 1])
    core = highs_found("optimal", 3, 3.0, [1, 1, 0])
    best = gap._best_of(inst, ours, core, start=0.0, whole=False)
    assert (best.status, best.objective, best.bound) == ("feasible", 3, 1)
    assert best.stats["winner"] == "highs"
    empty = highs_found("infeasible", None, math.inf, None)
    kept = gap._best_of(inst, ours, empty, start=0.0, whole=False)
    assert (kept.status, kept.objective, kept.bound) == ("feasible", 15, 1)


def test_highs_searches_a_core_of_large_tight_instances_only() -> None:
    from pathlib import Path

    from services.matcher.solver.gap_data import load

    data = Path(__file__).resolve().parents[4] / "shared" / "data" / "gap"
    if not data.is_dir():
        pytest.fail(f"benchmark data missing: {data}")
    (tight,) = load(data / "gap_e" / "e40400")
    (loose,) = load(data / "gap_d" / "d40400")
    assert tight.m * tight.n > gap.PORTFOLIO_MAX_PAIRS
    cores = {inst.name: gap.highs_core(inst, gap.prepare(inst, time_limit=10,
                                                          deterministic=False, start=0.0))
             for inst in (tight, loose)}
    assert cores[loose.name] is None
    core = cores[tight.name]
    assert core is not None and len(core) <= gap.CORE_MIP_MAX_SHARE * tight.m * tight.n
    result = gap.solve(tight, time_limit=2, threads=2)
    assert 0 < result.stats["highs_core_share"] <= gap.CORE_MIP_MAX_SHARE
    assert not violations(tight, result.assignment)
    assert result.bound <= 44_561 <= result.objective  # best-known: the bound stays valid


def test_only_a_whole_model_search_stops_the_pipeline() -> None:
    import threading

    from services.matcher.solver.gap_model import all_pairs

    inst = instance(cost=[[1, 2, 5], [4, 9, 1]], resource=[[4, 3, 1], [2, 2, 1]],
                    capacity=[5, 4])
    core = [(0, 0), (1, 1), (1, 2), (0, 2)]  # solved to optimality: 1 + 9 + 1 = 11, not 7
    for pairs, whole in ((core, False), (all_pairs(inst), True)):
        proven = threading.Event()
        result = gap._highs(inst, pairs, whole=whole, time_limit=5, seed=0, proven=proven,
                            cancel=threading.Event(), found=gap.Incumbent(inst))
        assert result.status == "optimal"
        assert proven.is_set() is whole
