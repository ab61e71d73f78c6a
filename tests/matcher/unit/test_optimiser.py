"""The CP-SAT optimiser on instances small enough to check by hand. Every plan goes through the
independent checker; ``hints=False`` makes the model find the answer on its own."""

import math

import pytest
from ortools.sat.python import cp_model

from services.matcher.domain import reasons
from services.matcher.domain.scenario import from_scenario
from services.matcher.solver import greedy
from services.matcher.solver.check import check_plan
from services.matcher.solver.generate import generate
from services.matcher.solver.solve import SolverOptions, solve, solver_parameters
from tests.matcher.unit.builders import factory, h, instance, machine, order, step, window

NORTH_50_KM = 39.93 + math.degrees(50 / 6371.0)  # 50 km north of f1: 1 h of transit
PENALTY = 100000.0


@pytest.fixture(params=[True, False], ids=["hinted", "unhinted"])
def hints(request):  # type: ignore[no-untyped-def]
    return request.param


def optimise(inst, hints=True):  # type: ignore[no-untyped-def]
    result = solve(inst, SolverOptions(time_limit_s=5.0, threads=1, hints=hints,
                                       deterministic=True))
    assert check_plan(inst, result.plan) == []
    assert result.objective <= greedy.solve(inst).objective + 1e-6
    return result


def placed(result):  # type: ignore[no-untyped-def]
    return {a.step_id: a.window_id for a in result.plan.allocations}


def why(result):  # type: ignore[no-untyped-def]
    return {u.step_id: u.reason for u in result.plan.unplaced}


def two_factories(windows, orders, machines=()):  # type: ignore[no-untyped-def]
    return instance(
        factories=[factory("f1", lat=39.93, lon=119.60),
                   factory("f2", lat=NORTH_50_KM, lon=119.60)],
        machines=[machine("m1", "f1"), machine("m1b", "f1", hourly_rate=200),
                  machine("m2", "f2", process="cnc_turning", hourly_rate=100), *machines],
        windows=windows, orders=orders)


def chain(**kw):  # type: ignore[no-untyped-def]
    """s1 (milling, 6 h) then s2 (turning, 2 h); delivery at f1, 100 km allowed."""
    return order(lat=39.93, lon=119.60, max_distance_km=100, steps=(
        step("s1"), step("s2", process="cnc_turning", hours=2.0, after=("s1",))), **kw)


def test_the_walk_through_is_solved_to_optimality(hints):  # type: ignore[no-untyped-def]
    r = optimise(instance(), hints)
    assert placed(r) == {"o1-s1": "w1"}
    assert r.status == "optimal"
    assert r.objective == pytest.approx(6 * 180 + 2 * 2.7887, abs=0.01)
    assert r.bound == pytest.approx(r.objective, abs=0.01) and r.gap < 1e-6


def test_the_optimiser_fixes_the_greedys_short_sighted_chain(hints):  # type: ignore[no-untyped-def]
    # the greedy puts s1 on the cheaper wa (ends T0+10 h) and then finds no room for s2 at f2
    # (10 + 1 h transit + 2 h > 12.5); the optimiser takes the dearer wa2 (ends 5 h) for s1
    inst = two_factories([window("wa", "m1", end=10), window("wa2", "m1b", end=5),
                          window("wb", "m2", end=12.5)], [chain()])
    assert greedy.solve(inst).allocations == ()
    r = optimise(inst, hints)
    assert placed(r) == {"s1": "wa2", "s2": "wb"} and r.status == "optimal"
    assert r.objective < greedy.solve(inst).objective - PENALTY


def test_transit_between_factories_is_respected_by_the_model(hints):  # type: ignore[no-untyped-def]
    # s2 at f2 after s1 on wa (ends 10 h) needs 10 + 1 + 2 = 13 h: wb1 (12.5) is cheaper but
    # only the linear part of the precedence rule (without transit) would allow it
    inst = two_factories([window("wa", "m1", end=10), window("wb1", "m2", end=12.5),
                          window("wb2", "m3", end=13.5)], [chain()],
                         machines=[machine("m3", "f2", process="cnc_turning", hourly_rate=120)])
    assert placed(optimise(inst, hints)) == {"s1": "wa", "s2": "wb2"}


def test_an_infeasible_capacity_instance_places_nothing_at_the_full_penalty(hints):  # type: ignore[no-untyped-def]
    inst = instance(windows=[window("w1", hours=4.0)],
                    orders=[order("a", priority=2), order("b", priority=3)])
    r = optimise(inst, hints)
    assert r.plan.allocations == () and r.status == "optimal"
    assert r.objective == pytest.approx(PENALTY * 5)
    assert r.bound == pytest.approx(r.objective)
    assert set(why(r).values()) == {reasons.NO_WINDOW_BEFORE_DUE}  # 6 h never fit 4 h


def test_scarce_capacity_goes_to_the_higher_priority_and_the_other_is_capacity_taken(hints):  # type: ignore[no-untyped-def]
    inst = instance(orders=[order("a", priority=1, steps=(step("a1", hours=15.0),)),
                            order("b", priority=4, steps=(step("b1", hours=15.0),))])
    r = optimise(inst, hints)
    assert placed(r) == {"b1": "w1"} and why(r) == {"a1": reasons.CAPACITY_TAKEN}
    assert r.objective == pytest.approx(15 * 180 + 2 * 2.7887 + PENALTY, abs=0.01)


def test_capacity_goes_where_it_places_most_priority_not_first_come(hints):  # type: ignore[no-untyped-def]
    # one 20 h window: the greedy gives it to the 15 h order of priority 3 first; the two 10 h
    # orders of priority 2 each are worth more together (penalty 4 > 3)
    inst = instance(orders=[order("a", priority=3, steps=(step("a1", hours=15.0),)),
                            order("b", priority=2, steps=(step("b1", hours=10.0),)),
                            order("c", priority=2, steps=(step("c1", hours=10.0),))])
    r = optimise(inst, hints)
    assert placed(r) == {"b1": "w1", "c1": "w1"} and why(r) == {"a1": reasons.CAPACITY_TAKEN}
    assert r.objective < greedy.solve(inst).objective


def test_over_budget_when_even_the_cheapest_plan_costs_too_much(hints):  # type: ignore[no-untyped-def]
    r = optimise(instance(orders=[order(budget=1085.0)]), hints)  # the plan costs 1085.58
    assert why(r) == {"o1-s1": reasons.OVER_BUDGET} and "1085.58" in r.plan.unplaced[0].detail
    assert placed(optimise(instance(orders=[order(budget=1085.6)]), hints)) == {"o1-s1": "w1"}


def test_the_budget_picks_a_plan_within_it(hints):  # type: ignore[no-untyped-def]
    # s1 and s2 (6 h each): w1 at 180 CNY/h, w2 at 150 CNY/h (10 h free: room for one step)
    inst = instance(machines=[machine("m1"), machine("m2", hourly_rate=150.0)],
                    windows=[window("w1"), window("w2", "m2", hours=10.0)],
                    orders=[order(budget=2000.0, steps=(step("s1"), step("s2")))])
    r = optimise(inst, hints)
    assert sorted(placed(r).values()) == ["w1", "w2"]


def test_order_incomplete_for_the_siblings_of_a_step_no_window_takes(hints):  # type: ignore[no-untyped-def]
    o = order(steps=(step("s1"), step("s2", process="welding", after=("s1",))))
    r = optimise(instance(orders=[o]), hints)
    assert why(r) == {"s1": reasons.ORDER_INCOMPLETE, "s2": reasons.NO_CAPABLE_MACHINE}


def test_no_window_before_due_when_precedence_cannot_be_met(hints):  # type: ignore[no-untyped-def]
    inst = two_factories([window("wa", "m1", end=10), window("wb1", "m2", end=12.5)], [chain()])
    r = optimise(inst, hints)
    assert why(r) == {"s1": reasons.ORDER_INCOMPLETE, "s2": reasons.NO_WINDOW_BEFORE_DUE}


def test_max_factories_keeps_the_order_in_one_factory(hints):  # type: ignore[no-untyped-def]
    # s1 (milling) is cheapest at f1, s2 (turning) only exists at f2 → with max 1 factory the
    # order needs f2's mill m4 for s1
    o = chain(max_factories=1)
    inst = two_factories([window("wa", "m1", end=5), window("wd", "m4", end=5),
                          window("wb", "m2", end=20)], [o],
                         machines=[machine("m4", "f2", hourly_rate=250)])
    r = optimise(inst, hints)
    assert placed(r) == {"s1": "wd", "s2": "wb"}
    assert len({a.factory_id for a in r.plan.allocations}) == 1


def test_too_many_factories_when_no_single_factory_can_do_it(hints):  # type: ignore[no-untyped-def]
    inst = two_factories([window("wa", "m1", end=5), window("wb", "m2", end=20)],
                         [chain(max_factories=1)])
    r = optimise(inst, hints)
    assert why(r) == {"s1": reasons.ORDER_INCOMPLETE, "s2": reasons.TOO_MANY_FACTORIES}


def test_pinned_steps_stay_and_bound_their_siblings(hints):  # type: ignore[no-untyped-def]
    # s1 is held on wa (ends T0+10 h); s2 (2 h, same factory) cannot use wb (ends 11 h)
    o = order(steps=(step("s1", pinned_window="wa"),
                     step("s2", process="cnc_turning", hours=2.0, after=("s1",))))
    inst = instance(machines=[machine("m1"), machine("m2", process="cnc_turning", hourly_rate=90)],
                    windows=[window("wa", "m1", end=10, hours=0, offered=6),
                             window("wb", "m2", end=11), window("wc", "m2", end=12)],
                    orders=[o])
    r = optimise(inst, hints)
    assert placed(r) == {"s2": "wc"} and r.plan.unplaced == ()


def test_free_hours_count_and_of_two_equal_priorities_the_cheaper_step_wins(hints):  # type: ignore[no-untyped-def]
    # w1 offers 10 h of which 4 are free (6 h pinned elsewhere): either step fits, not both;
    # both orders pay the same penalty, so the optimiser places the cheaper 0.5 h step
    inst = instance(windows=[window("w1", hours=4.0, offered=10.0)],
                    orders=[order(steps=(step("s1", hours=4.0),)),
                            order("o2", steps=(step("s2", hours=0.5),))])
    r = optimise(inst, hints)
    assert placed(r) == {"s2": "w1"} and why(r) == {"s1": reasons.CAPACITY_TAKEN}


def test_an_instance_with_nothing_to_place_is_optimal_at_zero():
    r = optimise(instance(orders=[order(steps=(step("s1", pinned_window="w1"),))]))
    assert r.plan.allocations == () and r.objective == 0 and r.status == "optimal"


def test_the_sme_bonus_is_part_of_the_objective(hints):  # type: ignore[no-untyped-def]
    from services.matcher.domain.model import Parameters
    inst = instance(factories=[factory("f1", sme=True), factory("f3", sme=False)],
                    machines=[machine("m1", "f1", hourly_rate=180),
                              machine("m3", "f3", hourly_rate=175)],
                    windows=[window("w1", "m1"), window("w3", "m3")],
                    params=Parameters(sme_bonus_per_hour=10.0))
    r = optimise(inst, hints)
    assert placed(r) == {"o1-s1": "w1"}
    assert r.objective == pytest.approx(r.plan.allocations[0].price - 60.0, abs=0.01)


def test_due_dates_are_respected(hints):  # type: ignore[no-untyped-def]
    inst = instance(orders=[order(due=h(47))])
    assert why(optimise(inst, hints)) == {"o1-s1": reasons.NO_WINDOW_BEFORE_DUE}


def test_a_search_stopped_at_the_gap_limit_reports_its_gap_not_a_proof() -> None:
    from datetime import UTC, datetime

    from services.matcher.domain.scenario import from_scenario
    from services.matcher.solver.generate import generate

    scenario = generate(factories=30, orders=80, seed=3, now=datetime(2026, 12, 1, tzinfo=UTC))
    inst = from_scenario(scenario)
    loose = solve(inst, SolverOptions(time_limit_s=5, threads=1, deterministic=True,
                                      gap_limit=0.5))
    exact = solve(inst, SolverOptions(time_limit_s=20, threads=1, deterministic=True,
                                      gap_limit=0.0))
    assert exact.status == "optimal" and exact.gap == 0
    assert loose.status == "feasible" and 0 < loose.gap <= 0.5
    assert loose.bound <= exact.objective <= loose.objective
    assert check_plan(inst, loose.plan) == [] and check_plan(inst, exact.plan) == []


WHOLE_UP_TO_20000 = 20_000  # lns_min_pairs: one model for every component up to this size


def test_a_component_too_big_to_model_within_its_budget_keeps_the_greedys_plan() -> None:
    """With a wall-clock limit, a component whose model would take more than half of its
    budget to build is not modelled: its plan is the greedy's, bounded by the LP, and the run
    says so. A deterministic budget always models (a replay must do the same work)."""
    from datetime import UTC, datetime

    from services.matcher.domain.scenario import from_scenario
    from services.matcher.solver.generate import generate

    inst = from_scenario(generate(factories=30, orders=80, seed=3,
                                  now=datetime(2026, 12, 1, tzinfo=UTC)))
    # a budget in which no component of more than a few dozen pairs can be built
    tight = solve(inst, SolverOptions(time_limit_s=0.001, threads=1))
    assert tight.stats["unmodelled_components"] == tight.components > 0
    assert tight.variables == 0
    assert tight.objective == pytest.approx(tight.stats["chain_greedy_objective"])
    assert tight.status == "feasible" and tight.bound <= tight.objective
    assert check_plan(inst, tight.plan) == []
    replayed = solve(inst, SolverOptions(time_limit_s=0.001, threads=1, deterministic=True,
                                         lns_min_pairs=WHOLE_UP_TO_20000))
    assert replayed.stats["unmodelled_components"] == 0 and replayed.variables > 0
    roomy = solve(inst, SolverOptions(time_limit_s=5, threads=1))
    assert roomy.stats["unmodelled_components"] == 0 and roomy.variables > 0
    assert roomy.objective <= tight.objective + 1e-6


@pytest.mark.parametrize(("pairs", "budget", "deterministic", "lns_min_pairs", "modelled"), [
    (1_000, 1.0, False, WHOLE_UP_TO_20000, True),
    (18_000, 1.0, False, WHOLE_UP_TO_20000, True),  # 0.45 s to build of 1 s
    (18_000, 0.8, False, WHOLE_UP_TO_20000, False),  # 0.45 s of 0.8 s
    (15_000, 0.4, False, WHOLE_UP_TO_20000, False),  # the 400-factory batch: 0.38-0.47 s
    (15_000, 0.4, True, WHOLE_UP_TO_20000, True),
    (40_000, 1.0, False, WHOLE_UP_TO_20000, True),  # LNS: only neighbourhoods are built
    (15_000, 0.4, False, None, True),  # short for one model: LNS's neighbourhoods instead
    (1_000, 0.04, False, None, False),  # one neighbourhood's worth: a model, too slow to build
])
def test_worth_modelling(pairs, budget, deterministic, lns_min_pairs, modelled) -> None:  # type: ignore[no-untyped-def]
    from services.matcher.solver.solve import worth_modelling

    options = SolverOptions(deterministic=deterministic, lns_min_pairs=lns_min_pairs)
    assert worth_modelling(pairs, budget, options) is modelled


@pytest.mark.parametrize(("pairs", "budget", "threads", "lns_min_pairs", "hoods"), [
    (8_000, 1.7, 1, None, "narrow"),  # a make-bench batch, 2 s on one thread: LNS did better
    (8_000, 1.7, 2, None, None),  # on two threads (3.4 worker-seconds) one model did
    (8_000, 0.4, 2, None, "narrow"),
    (1_000, 0.01, 1, None, None),  # no bigger than one narrow neighbourhood: one model
    (1_001, 0.01, 1, None, "narrow"),
    (3_000, 1.0, 1, None, None),  # a worker-second per 3,000 pairs
    (3_001, 1.0, 1, None, "narrow"),
    (6_000, 1.0, 2, None, None),
    (20_000, 100.0, 2, None, None),
    (20_001, 100.0, 2, None, "wide"),  # too big for one model at all
    (20_001, 0.1, 1, None, "wide"),
    (50_000, 100.0, 2, WHOLE_UP_TO_20000, "wide"),  # a fixed threshold decides alone
    (15_000, 0.1, 1, WHOLE_UP_TO_20000, None),
    (10, 100.0, 2, 0, "wide"),
])
def test_a_component_short_of_time_for_its_size_is_improved_by_lns(
        pairs: int, budget: float, threads: int, lns_min_pairs: int | None,
        hoods: str | None) -> None:
    from services.matcher.solver import lns
    from services.matcher.solver.solve import lns_neighbourhoods

    options = SolverOptions(threads=threads, lns_min_pairs=lns_min_pairs)
    expected = {None: None, "narrow": lns.NARROW, "wide": lns.WIDE}[hoods]
    assert lns_neighbourhoods(pairs, budget, options) == expected


@pytest.mark.parametrize(("time_limit", "lns"), [(0.2, True), (1.0, False)])
def test_the_budget_decides_between_lns_and_one_model_in_a_solve(
        monkeypatch: pytest.MonkeyPatch, time_limit: float, lns: bool) -> None:
    """One component of 1,502 eligible pairs, one worker, deterministic budgets: 0.2 s is
    short for one model (LNS), 1 s is not."""
    from datetime import UTC, datetime

    from services.matcher.solver import lns as lns_module

    calls: list[object] = []
    real = lns_module.improve

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["hoods"])
        return real(*args, **kwargs)

    monkeypatch.setattr(lns_module, "improve", spy)
    inst = from_scenario(generate(factories=30, orders=80, seed=3,
                                  now=datetime(2026, 12, 1, tzinfo=UTC)))
    result = solve(inst, SolverOptions(time_limit_s=time_limit, threads=1, deterministic=True,
                                       greedy_baseline=False))
    assert result.components == 1
    assert calls == ([lns_module.NARROW] if lns else [])
    assert (result.variables == 0) is lns  # LNS reports no whole model's variables
    assert check_plan(inst, result.plan) == []
    assert result.objective <= result.stats["chain_greedy_objective"] + 1e-6


@pytest.mark.parametrize("presolve", [False, True])
def test_cp_sat_presolves_only_when_asked(presolve: bool) -> None:
    solver = cp_model.CpSolver()
    solver_parameters(solver, SolverOptions(presolve=presolve), budget=1.0)
    assert solver.parameters.cp_model_presolve is presolve
    assert SolverOptions().presolve is False  # the default (measured: it ate short budgets)


def test_lns_neighbourhoods_search_without_the_lp(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, bool]] = []
    real = cp_model.CpSolver.solve

    def spy(self, model, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((self.parameters.linearization_level, self.parameters.cp_model_presolve))
        return real(self, model, *args, **kwargs)

    monkeypatch.setattr(cp_model.CpSolver, "solve", spy)
    inst = from_scenario(generate(factories=25, orders=70, seed=11))
    result = solve(inst, SolverOptions(time_limit_s=0.5, threads=1, lns_min_pairs=0,
                                       deterministic=True))
    assert check_plan(inst, result.plan) == []
    assert seen and set(seen) == {(0, False)}  # every neighbourhood: no LP, no presolve


def _one_component(seed: int = 3):  # type: ignore[no-untyped-def]
    """A generated cluster of one component (1,502 pairs), its index and the chain greedy's
    plan."""
    from datetime import UTC, datetime

    from services.matcher.solver.chain import ChainGreedy
    from services.matcher.solver.index import EligibilityIndex

    inst = from_scenario(generate(factories=30, orders=80, seed=seed,
                                  now=datetime(2026, 12, 1, tzinfo=UTC)))
    index = EligibilityIndex(inst)
    eligible = index.eligible()
    plan = ChainGreedy(inst, index, eligible).solve()
    return inst, index, eligible, plan


def test_the_value_lns_tracks_is_the_plans_objective() -> None:
    from services.matcher.solver.lns import placement_value

    inst, _, _, plan = _one_component()
    placement = {a.step_id: a.window_id for a in plan.allocations}
    assert plan.unplaced and plan.allocations  # both kinds of terms are counted
    assert placement_value(inst, inst.orders, placement) == pytest.approx(
        plan.objective, rel=1e-9)


def test_lns_stops_once_its_plan_is_within_the_gap_limit_of_the_bound() -> None:
    """Deterministic budgets: without a target the search improves the greedy's plan; with
    that plan's value as the target it stops before its first neighbourhood; with the value
    it reached as the target, it stops there, no later."""
    from services.matcher.solver import lns
    from services.matcher.solver.lns import placement_value

    inst, index, eligible, plan = _one_component()
    orders = [o for o in inst.orders if o.free_steps]
    start = {a.step_id: a.window_id for a in plan.allocations}
    run = dict(budget_s=0.5, threads=1, seed=0, deterministic=True, hoods=lns.NARROW)
    value0 = placement_value(inst, orders, start)

    free, free_stats = lns.improve(inst, index, orders, eligible, start, **run)
    reached = placement_value(inst, orders, free)
    assert free_stats.improved > 0 and reached < value0 and not free_stats.within_gap

    same, stats = lns.improve(inst, index, orders, eligible, start, **run, target=value0)
    assert (same, stats.rounds, stats.within_gap) == (start, 0, True)
    same, stats = lns.improve(inst, index, orders, eligible, start, **run,
                              target=value0 / 1.01, gap_limit=0.01)  # within 1 %
    assert (same, stats.rounds, stats.within_gap) == (start, 0, True)

    early, stats = lns.improve(inst, index, orders, eligible, start, **run, target=reached)
    assert stats.within_gap and 0 < stats.rounds <= free_stats.rounds
    assert placement_value(inst, orders, early) == pytest.approx(reached)


@pytest.mark.parametrize(("gap_limit", "searched"), [(0.001, True), (1.0, False)])
def test_a_solve_gives_lns_the_components_bound_and_its_gap_limit(
        monkeypatch: pytest.MonkeyPatch, gap_limit: float, searched: bool) -> None:
    """A gap limit of 100 % is met by any plan: the neighbourhoods are not searched at all."""
    from services.matcher.solver import lns as lns_module
    from services.matcher.solver.bound import lp_bound

    seen: list[tuple[float, float, float | None, lns_module.LnsStats]] = []
    real = lns_module.improve

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        placement, stats = real(*args, **kwargs)
        inst, index, orders, eligible = args[:4]
        seen.append((kwargs["target"], kwargs["gap_limit"],
                     lp_bound(inst, index, orders, eligible), stats))
        return placement, stats

    monkeypatch.setattr(lns_module, "improve", spy)
    inst, *_ = _one_component()
    result = solve(inst, SolverOptions(time_limit_s=0.2, threads=1, deterministic=True,
                                       greedy_baseline=False, gap_limit=gap_limit))
    [(target, limit, bound, stats)] = seen
    assert limit == gap_limit
    assert bound is not None and target == pytest.approx(bound)
    assert (stats.rounds > 0) is searched and stats.within_gap is not searched
    assert check_plan(inst, result.plan) == []
    if not searched:
        assert result.objective == pytest.approx(result.stats["chain_greedy_objective"])
