"""The greedy on instances small enough to check by hand (every plan also goes through the
checker)."""

import math

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.model import Parameters
from services.matcher.solver import greedy
from services.matcher.solver.check import check_plan
from tests.matcher.unit.builders import factory, h, instance, machine, order, step, window

NORTH_50_KM = 39.93 + math.degrees(50 / 6371.0)  # 50 km north of f1: 1 h of transit


def solve(inst):  # type: ignore[no-untyped-def]
    plan = greedy.solve(inst)
    assert check_plan(inst, plan) == []
    return plan


def placed(plan):  # type: ignore[no-untyped-def]
    return {a.step_id: a.window_id for a in plan.allocations}


def two_factories(windows, orders, machines=()):  # type: ignore[no-untyped-def]
    return instance(
        factories=[factory("f1", lat=39.93, lon=119.60),
                   factory("f2", lat=NORTH_50_KM, lon=119.60)],
        machines=[machine("m1", "f1"), machine("m2", "f2", process="cnc_turning", hourly_rate=100),
                  machine("m3", "f2", process="cnc_turning", hourly_rate=120), *machines],
        windows=windows, orders=orders)


def chain(**kw):  # type: ignore[no-untyped-def]
    """s1 (milling, 6 h) then s2 (turning, 2 h); delivery at f1, 100 km allowed."""
    return order(lat=39.93, lon=119.60, max_distance_km=100, steps=(
        step("s1", **kw.pop("s1", {})),
        step("s2", process="cnc_turning", hours=2.0, after=("s1",), **kw.pop("s2", {}))), **kw)


def test_the_walk_through_step_goes_to_its_only_window_at_the_expected_price():
    plan = solve(instance())
    (a,) = plan.allocations
    assert (a.step_id, a.window_id, a.machine_id, a.factory_id, a.hours) == \
        ("o1-s1", "w1", "m1", "f1", 6.0)
    assert a.transport_km == pytest.approx(2.789, abs=1e-3)
    assert a.price == pytest.approx(6 * 180 + 2 * 2.7887, abs=0.01)
    assert plan.objective == pytest.approx(a.price, abs=0.01)


def test_the_cheapest_eligible_window_wins():
    inst = instance(machines=[machine("m1", hourly_rate=180), machine("m2", hourly_rate=150)],
                    windows=[window("w1", "m1"), window("w2", "m2")])
    assert placed(solve(inst)) == {"o1-s1": "w2"}


def test_precedence_counts_transit_between_factories():
    # s1 on wa ends T0+10 h; s2 at f2 needs 10 + 1 h transit + 2 h = 13 h: wb1 (12.5) is too
    # early although cheaper, wb2 (13.5) fits
    inst = two_factories([window("wa", "m1", end=10), window("wb1", "m2", end=12.5),
                          window("wb2", "m3", end=13.5)], [chain()])
    assert placed(solve(inst)) == {"s1": "wa", "s2": "wb2"}


def test_no_transit_within_one_factory_and_the_bound_is_inclusive():
    inst = two_factories(
        [window("wa", "m1", end=10), window("wc", "m4", end=12), window("wd", "m2", end=12.5)],
        [chain()], machines=[machine("m4", "f1", process="cnc_turning", hourly_rate=500)])
    assert placed(solve(inst)) == {"s1": "wa", "s2": "wc"}  # 10 + 0 + 2 = 12 ≤ 12


def test_precedence_that_cannot_be_met_leaves_the_order_unplaced():
    inst = two_factories([window("wa", "m1", end=10), window("wb1", "m2", end=12.5)], [chain()])
    plan = solve(inst)
    assert plan.allocations == ()
    assert {u.step_id: u.reason for u in plan.unplaced} == {
        "s1": reasons.ORDER_INCOMPLETE, "s2": reasons.NO_WINDOW_BEFORE_DUE}


def test_an_order_is_atomic_and_its_tentative_hours_are_given_back():
    # o1 (priority 5) takes 10 h of w1 for s1, then fails on s2 (no welding machine); o2 needs
    # 15 h of the 20 h window, which it only gets if o1's 10 h were returned
    o1 = order("o1", priority=5, steps=(step("a", hours=10.0),
                                        step("b", process="welding", after=("a",))))
    o2 = order("o2", priority=1, steps=(step("c", hours=15.0),))
    plan = solve(instance(orders=[o1, o2]))
    assert placed(plan) == {"c": "w1"}
    assert {u.step_id: u.reason for u in plan.unplaced} == {
        "a": reasons.ORDER_INCOMPLETE, "b": reasons.NO_CAPABLE_MACHINE}


def test_priority_then_due_date_decide_who_gets_scarce_capacity():
    def o(oid, priority, due):  # type: ignore[no-untyped-def]
        return order(oid, priority=priority, due=h(due), steps=(step(f"{oid}-s", hours=15.0),))
    assert placed(solve(instance(orders=[o("a", 1, 60), o("b", 2, 150)]))) == {"b-s": "w1"}
    assert placed(solve(instance(orders=[o("a", 2, 150), o("b", 2, 60)]))) == {"b-s": "w1"}


def test_a_pinned_predecessor_is_never_moved_and_bounds_its_successor():
    # s1 is held on wa (ends T0+10 h); s2 (2 h, same factory) cannot use wb (ends 11 h)
    o = order(steps=(step("s1", pinned_window="wa"),
                     step("s2", process="cnc_turning", hours=2.0, after=("s1",))))
    inst = instance(machines=[machine("m1"), machine("m2", process="cnc_turning", hourly_rate=90)],
                    windows=[window("wa", "m1", end=10, hours=0, offered=6),
                             window("wb", "m2", end=11), window("wc", "m2", end=12)],
                    orders=[o])
    plan = solve(inst)
    assert placed(plan) == {"s2": "wc"}
    assert plan.unplaced == ()


def test_a_pinned_successor_bounds_its_free_predecessor():
    # s2 (4 h) is held on wz (ends T0+20 h), so s1 must end by 16 h: w17 is too late
    o = order(steps=(step("s1"), step("s2", process="cnc_turning", hours=4.0, after=("s1",),
                                      pinned_window="wz")))
    inst = instance(machines=[machine("m1"), machine("m2", process="cnc_turning")],
                    windows=[window("w17", "m1", end=17), window("w16", "m1", end=16),
                             window("wz", "m2", end=20, hours=16, offered=20)], orders=[o])
    assert placed(solve(inst)) == {"s1": "w16"}


def test_pinned_hours_are_already_deducted_and_not_deducted_twice():
    inst = instance(windows=[window("w1", hours=4.0, offered=10.0)],
                    orders=[order(steps=(step("s1", hours=4.0),)),
                            order("o2", steps=(step("s2", hours=0.5),))])
    plan = solve(inst)
    assert placed(plan) == {"s1": "w1"}
    assert [(u.step_id, u.reason) for u in plan.unplaced] == [("s2", reasons.CAPACITY_TAKEN)]


def test_an_order_with_only_pinned_steps_is_left_alone():
    inst = instance(orders=[order(steps=(step("s1", pinned_window="w1"),))])
    plan = solve(inst)
    assert plan.allocations == () and plan.unplaced == () and plan.objective == 0


def test_an_infeasible_instance_leaves_everything_unplaced_at_the_penalty():
    inst = instance(windows=[], orders=[
        order("a", priority=2),
        order("b", priority=3, steps=(step("b1"), step("b2", after=("b1",))))])
    plan = solve(inst)
    assert plan.allocations == () and len(plan.unplaced) == 3
    assert plan.objective == pytest.approx(100000.0 * (2 + 3 + 3))
    assert {u.reason for u in plan.unplaced} == {reasons.NO_CAPABLE_MACHINE,
                                                 reasons.ORDER_INCOMPLETE}


def test_the_sme_bonus_is_part_of_the_choice():
    inst = instance(factories=[factory("f1", sme=True), factory("f3", sme=False)],
                    machines=[machine("m1", "f1", hourly_rate=180), machine("m3", "f3",
                                                                            hourly_rate=175)],
                    windows=[window("w1", "m1"), window("w3", "m3")])
    assert placed(solve(inst)) == {"o1-s1": "w3"}
    bonus = instance(factories=inst.factories, machines=inst.machines, windows=inst.windows,
                     orders=inst.orders, params=Parameters(sme_bonus_per_hour=10.0))
    plan = solve(bonus)
    assert placed(plan) == {"o1-s1": "w1"}
    assert plan.objective == pytest.approx(plan.allocations[0].price - 60.0, abs=0.01)


def test_the_plan_is_deterministic():
    inst = instance(machines=[machine("m1"), machine("m2")],
                    windows=[window("w2", "m2"), window("w1", "m1")],
                    orders=[order(f"o{i}", steps=(step(f"s{i}", hours=7.0),)) for i in range(5)])
    assert greedy.solve(inst) == greedy.solve(inst)
    assert len(greedy.solve(inst).allocations) == 4  # two windows × 2 steps of 7 h


def test_a_precedence_cycle_is_reported_not_looped_on():
    o = order(steps=(step("s1", after=("s2",)), step("s2", after=("s1",))))
    plan = solve(instance(orders=[o]))
    assert plan.allocations == ()
    assert "cycle" in plan.unplaced[0].detail
