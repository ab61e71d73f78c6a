"""One hand-checkable instance per reason code of the DESIGN §4 funnel.

The cluster: factory f1 (advanced, ISO9001, 2.8 km from delivery) with a mill m1 (steel,
aluminium) and a lathe m2; factory f2 (basic, no certificates, 2.4 km from delivery) with a mill
m3 that takes aluminium only. One window on each machine: w1, w2, w3 (20 h, ending T0 + 48 h).
"""

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.costs import haversine_km
from services.matcher.solver import greedy
from services.matcher.solver.eligibility import PlanState, funnel, static_violations
from tests.matcher.unit.builders import factory, h, instance, machine, order, replace, step, window


def cluster(orders=None, **kw):  # type: ignore[no-untyped-def]
    return instance(
        factories=[factory("f1"), factory("f2", lat=39.93, lon=119.57, tier="basic",
                                          certifications=frozenset())],
        machines=[machine("m1", "f1"), machine("m2", "f1", process="cnc_turning"),
                  machine("m3", "f2", materials=frozenset({"aluminium"}), hourly_rate=150.0)],
        windows=[window("w1", "m1"), window("w2", "m2"), window("w3", "m3")],
        orders=orders or [order()], **kw)


def run(inst, state=None):  # type: ignore[no-untyped-def]
    o = inst.orders[0]
    return funnel(inst, o, o.steps[0], state)


def counts(f):  # type: ignore[no-untyped-def]
    return [(s.stage, s.candidates) for s in f.stages]


def test_an_eligible_step_keeps_its_windows_and_has_no_reason():
    inst = cluster([order(min_tier="advanced", steps=(step("s1", material="aluminium"),))])
    f = run(inst)
    assert f.reason is None and f.eligible == ("w1",)
    assert counts(f) == [("windows", 3), ("process", 2), ("material", 2), ("tier", 1),
                         ("certifications", 1), ("distance", 1), ("buyer_rules", 1),
                         ("due_date", 1), ("precedence", 1), ("free_capacity", 1),
                         ("max_factories", 1)]


def test_no_capable_machine():
    f = run(cluster([order(steps=(step("s1", process="welding"),))]))
    assert f.reason == reasons.NO_CAPABLE_MACHINE
    assert counts(f) == [("windows", 3), ("process", 0)]
    assert "welding" in f.detail


def test_material_unsupported():
    f = run(cluster([order(steps=(step("s1", material="titanium"),))]))
    assert f.reason == reasons.MATERIAL_UNSUPPORTED
    assert counts(f)[-1] == ("material", 0)


def test_tier_below_minimum_with_nearest_miss():
    f = run(cluster([order(min_tier="excellent")]))
    assert f.reason == reasons.TIER_BELOW_MINIMUM
    assert counts(f) == [("windows", 3), ("process", 2), ("material", 1), ("tier", 0)]
    assert f.nearest_miss == "tier: factory tier advanced is below excellent"


def test_certification_missing():
    f = run(cluster([order(certifications=frozenset({"IATF16949"}))]))
    assert f.reason == reasons.CERTIFICATION_MISSING
    assert counts(f)[-1] == ("certifications", 0)
    assert "IATF16949" in f.detail


def test_outside_distance():
    f = run(cluster([order(max_distance_km=2.5)]))  # f1 is 2.79 km from delivery
    assert f.reason == reasons.OUTSIDE_DISTANCE
    assert counts(f)[-1] == ("distance", 0)
    assert run(cluster([order(max_distance_km=2.8)])).reason is None


def test_blocked_by_buyer_blocked_list_and_allowed_list():
    assert run(cluster([order(blocked_factories=frozenset({"f1"}))])).reason == \
        reasons.BLOCKED_BY_BUYER
    assert run(cluster([order(allowed_factories=frozenset({"f2"}))])).reason == \
        reasons.BLOCKED_BY_BUYER
    assert run(cluster([order(allowed_factories=frozenset({"f1"}))])).reason is None


def test_no_window_before_due_when_the_window_ends_too_late():
    f = run(cluster([order(due=h(47))]))  # w1 ends at T0 + 48 h
    assert f.reason == reasons.NO_WINDOW_BEFORE_DUE
    assert counts(f)[-1] == ("due_date", 0)
    assert run(cluster([order(due=h(48))])).reason is None


def test_no_window_before_due_when_no_window_is_big_enough_or_it_is_over():
    assert run(cluster([order(steps=(step("s1", hours=20.5),))])).reason == \
        reasons.NO_WINDOW_BEFORE_DUE
    assert run(cluster(now=h(48))).reason == reasons.NO_WINDOW_BEFORE_DUE
    assert run(cluster(now=h(47.9))).reason is None


def test_no_window_before_due_from_precedence_with_transit():
    # s2 (4 h) must follow s1, which sits on w1 (ends T0 + 48 h); w4 ends 3 h later → too late
    s1, s2 = step("s1"), step("s2", hours=4.0, after=("s1",))
    inst = cluster([order(steps=(s1, s2))])
    inst = replace(inst, windows=inst.windows + (window("w4", "m1", start=40, end=51),))
    state = PlanState.initial(inst)
    state.place(s1, "w1")
    f = funnel(inst, inst.orders[0], s2, state)
    assert f.reason == reasons.NO_WINDOW_BEFORE_DUE
    assert counts(f)[-2:] == [("due_date", 2), ("precedence", 0)]


def test_capacity_taken_names_how_many_windows_were_used():
    inst = cluster()
    state = PlanState.initial(inst)
    state.free["w1"] = 4.0  # 16 h placed by other steps
    f = run(inst, state)
    assert f.reason == reasons.CAPACITY_TAKEN
    assert counts(f)[-1] == ("free_capacity", 0)
    assert f.detail.startswith("1 eligible window(s), all taken: 1 without 6 free h")


def test_capacity_taken_when_the_only_window_was_rejected_for_the_step():
    inst = cluster([order(steps=(step("s1", excluded_windows=frozenset({"w1"})),))])
    f = run(inst)
    assert f.reason == reasons.CAPACITY_TAKEN
    assert "1 rejected or declined" in f.detail
    assert static_violations(inst, inst.orders[0], inst.orders[0].steps[0], "w1") == [
        "window was rejected or declined for this step"]


def test_capacity_taken_in_a_plan_when_a_higher_priority_order_used_the_window():
    big = order("o1", priority=5, steps=(step("o1-s1", hours=15.0),))
    late = order("o2", priority=1, steps=(step("o2-s1", hours=15.0),))
    plan = greedy.solve(cluster([late, big]))
    assert [a.step_id for a in plan.allocations] == ["o1-s1"]
    assert [(u.step_id, u.reason) for u in plan.unplaced] == [("o2-s1", reasons.CAPACITY_TAKEN)]


def test_over_budget_marks_every_step_of_the_order():
    # 6 h × 180 + 2 × 2.79 km = 1085.58 CNY
    plan = greedy.solve(cluster([order(budget=1085.0)]))
    assert plan.allocations == ()
    assert [(u.step_id, u.reason) for u in plan.unplaced] == [("o1-s1", reasons.OVER_BUDGET)]
    assert "1085.58" in plan.unplaced[0].detail
    assert greedy.solve(cluster([order(budget=1085.6)])).unplaced == ()


def test_order_incomplete_for_the_siblings_of_a_failing_step():
    o = order(steps=(step("s1"), step("s2", process="welding", after=("s1",))))
    plan = greedy.solve(cluster([o]))
    assert plan.allocations == ()
    assert {u.step_id: u.reason for u in plan.unplaced} == {
        "s1": reasons.ORDER_INCOMPLETE, "s2": reasons.NO_CAPABLE_MACHINE}


def test_too_many_factories_when_max_factories_is_reached():
    # s1 (steel) can only go to f1; s2 (aluminium, cheaper at f2) may then only use f1's mill
    o = order(max_factories=1, steps=(step("s1"), step("s2", material="aluminium")))
    plan = greedy.solve(cluster([o]))
    assert {a.step_id: a.factory_id for a in plan.allocations} == {"s1": "f1", "s2": "f1"}
    o = order(max_factories=1, steps=(step("s1"), step("s2", process="cnc_turning")))
    inst = cluster([o])
    inst = replace(inst, windows=(window("w1", "m1"), window("w3", "m3"),
                                  window("w5", "m5")),
                   machines=inst.machines + (machine("m5", "f2", process="cnc_turning"),))
    plan = greedy.solve(inst)
    assert {u.step_id: u.reason for u in plan.unplaced} == {
        "s1": reasons.ORDER_INCOMPLETE, "s2": reasons.TOO_MANY_FACTORIES}


def _two_sites(**order_kw):  # type: ignore[no-untyped-def]
    """A far factory (fa, ~33 km from delivery) listed before a near one (fb, ~11 km); one
    mill and one window on each: wa ends at T0 + 60 h, wb at T0 + 50 h."""
    return instance(
        factories=[factory("fa", lat=40.20, lon=119.75), factory("fb", lat=40.02, lon=119.62)],
        machines=[machine("ma", "fa"), machine("mb", "fb")],
        windows=[window("wa", "ma", end=60), window("wb", "mb", end=50)],
        orders=[order(**order_kw)])


def test_the_nearest_miss_is_the_candidate_that_fell_least_short():
    near_km = haversine_km(39.94, 119.55, 40.02, 119.62)
    assert 10 < near_km < 15 < 30 < haversine_km(39.94, 119.55, 40.20, 119.75)
    f = run(_two_sites(max_distance_km=5))
    assert f.reason == reasons.OUTSIDE_DISTANCE
    assert f.nearest_miss == f"distance: factory is {near_km:.1f} km from delivery (limit 5 km)"
    # the buyer reads no figure that places the factory: its distance rounded up to 5 km
    assert f.nearest_miss_told == "distance: a factory within 15 km of delivery (limit 5 km)"

    f = run(_two_sites(due=h(40)))  # both windows end after the due date; wb by less
    assert f.reason == reasons.NO_WINDOW_BEFORE_DUE
    assert f.nearest_miss == (f"due_date: window ends {h(50):%Y-%m-%d %H:%M} UTC, after the "
                              "due date")
    assert f.nearest_miss_told == (f"due_date: a window ending on {h(50):%Y-%m-%d}, after the "
                                   "due date")


def test_the_buyer_reads_the_same_nearest_miss_where_no_figure_locates_a_supplier():
    f = run(cluster([order(min_tier="excellent")]))
    assert f.nearest_miss_told == f.nearest_miss == (
        "tier: factory tier advanced is below excellent")
    f = run(cluster([order(steps=(step("s1", process="welding"),))]))
    assert f.nearest_miss_told == f.nearest_miss == "process: no welding machine"


@pytest.mark.parametrize(("asks", "terms"), [
    (dict(min_tier="excellent"), ("min_tier",)),
    (dict(certifications=frozenset({"IATF16949"})), ("certifications",)),
    (dict(max_distance_km=2.5), ("max_distance_km", "delivery")),
    (dict(blocked_factories=frozenset({"f1"})), ("blocked_factories",)),
    (dict(allowed_factories=frozenset({"f2"})), ("allowed_factories",)),
    (dict(due=h(47)), ("due",)),
    # what no revision of the order's terms changes: a machine, a material, a window's size
    (dict(steps=(step("s1", process="welding"),)), ()),
    (dict(steps=(step("s1", material="titanium"),)), ()),
    (dict(steps=(step("s1", hours=20.5),)), ()),
    (dict(), ()),  # placeable: nothing stands in the way
])
def test_the_terms_that_stand_in_the_way_are_those_of_the_emptying_stage(asks, terms):  # type: ignore[no-untyped-def]
    assert run(cluster([order(**asks)])).revisable_terms == terms


def test_capacity_taken_points_at_no_term():
    inst = cluster()
    state = PlanState.initial(inst)
    state.free["w1"] = 4.0
    assert run(inst, state).revisable_terms == ()


def test_the_nearest_miss_is_a_factory_the_buyer_allows_when_one_got_as_far():
    aluminium = (step("s1", material="aluminium"),)
    # f1 (advanced) falls one tier short, f2 (basic) two: f1 is nearer
    f = run(cluster([order(min_tier="excellent", steps=aluminium)]))
    assert f.nearest_miss == "tier: factory tier advanced is below excellent"
    # the buyer takes f2 only: what stopped f2 is what it needs to read
    f = run(cluster([order(min_tier="excellent", steps=aluminium,
                           allowed_factories=frozenset({"f2"}))]))
    assert (f.reason, f.nearest_miss) == (reasons.TIER_BELOW_MINIMUM,
                                          "tier: factory tier basic is below excellent")
    f = run(cluster([order(min_tier="excellent", steps=aluminium,
                           blocked_factories=frozenset({"f1"}))]))
    assert f.nearest_miss == "tier: factory tier basic is below excellent"
    # a factory the lists exclude is still named when none they allow got as far
    f = run(cluster([order(min_tier="excellent", allowed_factories=frozenset({"f2"}))]))
    assert f.nearest_miss == "tier: factory tier advanced is below excellent"  # f2: no steel
