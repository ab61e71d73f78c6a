"""The plan checker catches each kind of violation (plans built by hand, not by the greedy)."""

import dataclasses

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.costs import objective
from services.matcher.domain.model import Plan, Unplaced
from services.matcher.solver import greedy
from services.matcher.solver.check import InfeasiblePlan, assert_feasible, check_plan
from tests.matcher.unit.builders import factory, instance, machine, order, step, window


def plan_of(inst, *placements, unplaced=()):  # type: ignore[no-untyped-def]
    """A plan placing (step id, window id) pairs, priced correctly."""
    allocations = []
    for sid, wid in placements:
        o = next(o for o in inst.orders if any(s.id == sid for s in o.steps))
        s = next(s for s in o.steps if s.id == sid)
        allocations.append(greedy.allocation(inst, o, s, wid))
    return Plan("feasible", objective(inst, allocations, unplaced), tuple(allocations),
                tuple(unplaced))


def two_orders():  # type: ignore[no-untyped-def]
    return instance(orders=[order("o1", steps=(step("a", hours=12.0),)),
                            order("o2", steps=(step("b", hours=12.0),))])


def test_a_correct_plan_has_no_violations():
    inst = two_orders()
    plan = plan_of(inst, ("a", "w1"), unplaced=[Unplaced("b", "o2", reasons.CAPACITY_TAKEN, "")])
    assert check_plan(inst, plan) == []
    assert_feasible(inst, plan)


def test_capacity_overflow():
    inst = two_orders()
    problems = check_plan(inst, plan_of(inst, ("a", "w1"), ("b", "w1")))
    assert problems == ["window w1: 24 h placed, 20 free"]
    with pytest.raises(InfeasiblePlan):
        assert_feasible(inst, plan_of(inst, ("a", "w1"), ("b", "w1")))


def test_every_free_step_must_be_accounted_for_once():
    inst = two_orders()
    assert check_plan(inst, plan_of(inst, ("a", "w1"))) == ["step b neither placed nor unplaced"]
    twice = plan_of(inst, ("a", "w1"), unplaced=[Unplaced("a", "o1", "x", ""),
                                                 Unplaced("b", "o2", "x", "")])
    assert check_plan(inst, twice) == ["step a both placed and unplaced"]


def test_ineligible_window():
    inst = instance(machines=[machine("m1"), machine("m2", process="welding")],
                    windows=[window("w1", "m1"), window("w2", "m2")],
                    orders=[order(min_tier="leading")])
    problems = check_plan(inst, plan_of(inst, ("o1-s1", "w2")))
    assert any("process" in p for p in problems)
    assert any("tier: factory tier advanced is below leading" in p for p in problems)


def test_precedence_with_transit():
    o = order(steps=(step("s1"), step("s2", hours=2.0, after=("s1",))))
    inst = instance(factories=[factory("f1"), factory("f2", lat=40.3)],
                    machines=[machine("m1", "f1"), machine("m2", "f2")],
                    windows=[window("w1", "m1", end=10), window("w2", "m2", end=12.5),
                             window("w3", "m1", end=12)], orders=[o])
    assert check_plan(inst, plan_of(inst, ("s1", "w1"), ("s2", "w3"))) == []
    problems = check_plan(inst, plan_of(inst, ("s1", "w1"), ("s2", "w2")))  # 39 km ≈ 0.78 h
    assert problems == ["steps s1 → s2: s2 cannot finish in its window after its predecessor "
                        "(with transit)"]


def test_orders_are_atomic():
    o = order(steps=(step("s1"), step("s2")))
    inst = instance(orders=[o])
    plan = plan_of(inst, ("s1", "w1"), unplaced=[Unplaced("s2", "o1", "x", "")])
    assert check_plan(inst, plan) == ["order o1: 1 of 2 steps placed (not atomic)"]


def test_max_factories_and_budget():
    o = order(max_factories=1, budget=2000.0, steps=(step("s1"), step("s2")))
    inst = instance(factories=[factory("f1"), factory("f2")],
                    machines=[machine("m1", "f1"), machine("m2", "f2")],
                    windows=[window("w1", "m1"), window("w2", "m2")], orders=[o])
    problems = check_plan(inst, plan_of(inst, ("s1", "w1"), ("s2", "w2")))
    assert "order o1: uses 2 factories, max 1" in problems
    assert any(p.startswith("order o1: price 2171.") and "over budget 2000.00" in p
               for p in problems)


def test_pinned_steps_count_for_budget_and_precedence():
    # (6 + 2) h × 180 + 2 × 2 × 2.79 km = 1451.15 CNY, the pinned s1 included
    o = order(budget=1400.0, steps=(step("s1", pinned_window="w1"),
                                    step("s2", hours=2.0, after=("s1",))))
    inst = instance(windows=[window("w1", end=10), window("w2", end=11)], orders=[o])
    problems = check_plan(inst, plan_of(inst, ("s2", "w2")))  # 10 + 2 > 11
    assert problems == [
        "steps s1 → s2: s2 cannot finish in its window after its predecessor (with transit)",
        "order o1: price 1451.15 over budget 1400.00"]


def test_numbers_are_recomputed_not_trusted():
    inst = instance()
    good = plan_of(inst, ("o1-s1", "w1"))
    cheap = dataclasses.replace(good, allocations=(
        dataclasses.replace(good.allocations[0], price=1.0),))
    assert any("price 1.0" in p for p in check_plan(inst, cheap))
    wrong_objective = dataclasses.replace(good, objective=0.0)
    assert any(p.startswith("objective") for p in check_plan(inst, wrong_objective))
