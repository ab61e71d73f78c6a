"""Property test: on random small instances every greedy plan passes the independent checker.

Instances come from a seeded ``random.Random`` per case, so any failure is reproducible from
its case number.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.model import (
    Factory,
    Instance,
    Machine,
    Order,
    Parameters,
    Step,
    Window,
)
from services.matcher.domain.scenario import from_scenario, to_scenario
from services.matcher.solver import greedy
from services.matcher.solver.check import check_plan
from services.matcher.solver.eligibility import funnel
from shared.vocabulary import TIERS
from tests.matcher.unit.builders import T0

CASES = 300
PROCESSES = ("cnc_milling", "cnc_turning", "welding")
MATERIALS = ("steel", "aluminium", "brass")
CERTS = ("ISO9001", "IATF16949")
STATIC = {reasons.NO_CAPABLE_MACHINE, reasons.MATERIAL_UNSUPPORTED, reasons.TIER_BELOW_MINIMUM,
          reasons.CERTIFICATION_MISSING, reasons.OUTSIDE_DISTANCE, reasons.BLOCKED_BY_BUYER}


def random_instance(rng: random.Random) -> Instance:
    factories = [Factory(id=f"f{i}", lat=39.9 + rng.uniform(-0.5, 0.5),
                         lon=119.6 + rng.uniform(-0.3, 0.3), tier=rng.choice(TIERS),
                         sme=rng.random() < 0.5,
                         certifications=frozenset(c for c in CERTS if rng.random() < 0.5))
                 for i in range(rng.randint(1, 4))]
    machines = [Machine(id=f"m{i}", factory_id=rng.choice(factories).id,
                        process=rng.choice(PROCESSES[:2] * 2 + PROCESSES[2:]),
                        hourly_rate=rng.choice((80, 120, 180)),
                        materials=frozenset(rng.sample(MATERIALS, rng.randint(1, 3))))
                for i in range(rng.randint(1, 8))]
    free: dict[str, float] = {}
    windows = []
    for i in range(rng.choice((0, *range(3, 17)))):
        start = rng.randint(0, 150)
        hours = float(rng.randint(4, 40))
        windows.append(Window(id=f"w{i}", machine_id=rng.choice(machines).id,
                              start=T0 + timedelta(hours=start),
                              end=T0 + timedelta(hours=start + rng.randint(int(hours), 60)),
                              hours=hours))
        free[f"w{i}"] = hours
    orders = [_random_order(rng, j, windows, free) for j in range(rng.randint(1, 7))]
    windows = [Window(w.id, w.machine_id, w.start, w.end, free[w.id], w.hours) for w in windows]
    params = Parameters(speed_kmh=rng.choice((20.0, 50.0)),
                        sme_bonus_per_hour=rng.choice((0.0, 0.0, 15.0)))
    return Instance(tuple(factories), tuple(machines), tuple(windows), tuple(orders), params,
                    now=T0 + timedelta(hours=rng.choice((0, 0, 50))))


def _random_order(rng: random.Random, j: int, windows: list[Window], free: dict[str, float]
                  ) -> Order:
    steps: list[Step] = []
    pinned_one = False
    for k in range(rng.choice((1, 1, 2, 3, 4))):
        after = tuple(s.id for s in steps if rng.random() < 0.4)
        pinned = None
        if windows and not pinned_one and rng.random() < 0.15:
            pinned, pinned_one = rng.choice(windows).id, True
        hours = float(rng.randint(1, 10))
        if pinned:
            free[pinned] = max(0.0, free[pinned] - hours)
        process = rng.choice(PROCESSES[:2]) if rng.random() < 0.9 else "welding"
        steps.append(Step(id=f"o{j}s{k}", process=process, hours=hours,
                          material=rng.choice((None, None, None, *MATERIALS)), after=after,
                          pinned_window=pinned,
                          excluded_windows=frozenset(w.id for w in windows if rng.random() < 0.05)))
    return Order(
        id=f"o{j}", lat=39.9 + rng.uniform(-0.3, 0.3), lon=119.6 + rng.uniform(-0.3, 0.3),
        due=T0 + timedelta(hours=rng.randint(48, 300)), steps=tuple(steps),
        min_tier=rng.choice(("basic", "basic", "basic", "advanced", "excellent")),
        certifications=frozenset(c for c in CERTS if rng.random() < 0.1),
        max_distance_km=rng.choice((30.0, 60.0, 120.0, 120.0)), priority=rng.randint(1, 5),
        budget=rng.choice((None, None, None, 1000.0, 4000.0)),
        blocked_factories=frozenset({"f0"}) if rng.random() < 0.1 else frozenset(),
        allowed_factories=frozenset({"f1"}) if rng.random() < 0.1 else frozenset(),
        max_factories=rng.choice((None, None, 1, 2)))


@pytest.mark.parametrize("case", range(CASES))
def test_every_greedy_plan_is_feasible(case: int) -> None:
    inst = random_instance(random.Random(case))
    plan = greedy.solve(inst)
    assert check_plan(inst, plan) == []
    assert all(u.reason in reasons.ALL and u.detail for u in plan.unplaced)
    for u in plan.unplaced:  # a static reason means no plan at all could place the step
        if u.reason in STATIC:
            o = inst.orders_by_id[u.order_id]
            assert funnel(inst, o, next(s for s in o.steps if s.id == u.step_id)).reason \
                == u.reason
    replay = from_scenario(json.loads(json.dumps(to_scenario(inst))))
    assert greedy.solve(replay) == plan


def test_the_random_instances_exercise_both_outcomes() -> None:
    """Guard against a generator that only ever makes trivial instances."""
    placed = unplaced = 0
    seen: set[str] = set()
    for case in range(CASES):
        plan = greedy.solve(random_instance(random.Random(case)))
        placed += len(plan.allocations)
        unplaced += len(plan.unplaced)
        seen |= {u.reason for u in plan.unplaced}
    assert placed > 100 and unplaced > 100
    assert {reasons.CAPACITY_TAKEN, reasons.ORDER_INCOMPLETE, reasons.NO_WINDOW_BEFORE_DUE,
            reasons.OVER_BUDGET} <= seen
