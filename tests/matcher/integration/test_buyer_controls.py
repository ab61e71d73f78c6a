"""The buyer's controls carried by order.submitted, stored, and enforced by the next run.

Two factories: fac-1 (the walk-through's, mill mch-1 at 180 CNY/h, win-1) and fac-2 with a mill
mch-2 at 150 CNY/h (win-2) and a mill mch-3 at 190 CNY/h (win-3). All windows 20 h.
"""

import pytest

from services.matcher.domain.costs import haversine_km
from tests.matcher import events as e
from tests.matcher.integration.conftest import feed, outbox_events, plan_now

pytestmark = pytest.mark.integration

DELIVERY = (39.94, 119.55)
FAC2 = (39.93, 119.57)
PRICE_ON_WIN2 = round(6 * 150.0 + 2.0 * haversine_km(*FAC2, *DELIVERY), 2)  # the cheapest
PRICE_ON_WIN1 = round(6 * 180.0 + 2.0 * haversine_km(39.95, 119.58, *DELIVERY), 2)


def two_factories(t0):  # type: ignore[no-untyped-def]
    return [*e.walkthrough(t0)[:-1],  # no ord-1
            e.factory(factory_id="fac-2", firm_id="firm-s2", lat=FAC2[0], lon=FAC2[1]),
            e.factory(e.ev.FactoryUpdated, factory_id="fac-2", firm_id="firm-s2", lat=FAC2[0],
                      lon=FAC2[1], verified_tier="advanced"),
            e.machine_added("mch-2", factory_id="fac-2", hourly_rate=150.0),
            e.machine_added("mch-3", factory_id="fac-2", hourly_rate=190.0),
            e.window_opened(t0, "win-2", machine_id="mch-2", factory_id="fac-2"),
            e.window_opened(t0, "win-3", machine_id="mch-3", factory_id="fac-2")]


def outcome(app):  # type: ignore[no-untyped-def]
    """step id → its proposed window, or its unplaced reason."""
    out = {a["step_id"]: a["window_id"] for x in outbox_events(app, "allocation.proposed")
           for a in x["payload"]["allocations"]}
    out.update({x["payload"]["step_id"]: x["payload"]["reason"]
                for x in outbox_events(app, "step.unplaced")})
    return out


ONE_STEP = {"step_ids": ("s",), "hours": 6.0}
TWO_STEPS = {"step_ids": ("a", "b"), "hours": 12.0}  # 24 h: more than one window holds


@pytest.mark.parametrize(("order", "expected"), [
    ({}, {"s": "win-2"}),
    ({"blocked_factories": ["fac-2"]}, {"s": "win-1"}),
    ({"allowed_factories": ["fac-1"]}, {"s": "win-1"}),
    ({"allowed_factories": ["fac-9"]}, {"s": "blocked_by_buyer"}),
    ({"blocked_factories": ["fac-1", "fac-2"]}, {"s": "blocked_by_buyer"}),
    ({"budget": PRICE_ON_WIN2 + 0.01}, {"s": "win-2"}),
    ({"budget": PRICE_ON_WIN2 - 0.05}, {"s": "over_budget"}),
    # the cheapest plan the buyer's rules allow is win-1's, and it is over the budget
    ({"blocked_factories": ["fac-2"], "budget": PRICE_ON_WIN1 - 0.05}, {"s": "over_budget"}),
    ({**TWO_STEPS}, {"a": "win-2", "b": "win-1"}),  # b: 180 at fac-1 beats 190 at fac-2
    ({**TWO_STEPS, "max_factories": 1}, {"a": "win-2", "b": "win-3"}),
    ({**TWO_STEPS, "max_factories": 1, "blocked_factories": ["fac-1"], "budget": 4100.0},
     {"a": "win-2", "b": "win-3"}),
    # within one factory the plan costs ≈ 4088 CNY; across two it would cost ≈ 3970
    ({**TWO_STEPS, "max_factories": 1, "budget": 4050.0},
     {"a": "over_budget", "b": "over_budget"}),
    ({**TWO_STEPS, "budget": 4050.0}, {"a": "win-2", "b": "win-1"}),
], ids=["cheapest", "blocked", "allowed", "allowed-elsewhere", "all-blocked", "budget-met",
        "over-budget", "over-budget-after-rules", "two-factories", "max-factories",
        "all-rules-met", "max-factories-over-budget", "two-factories-within-budget"])
def test_the_buyers_rules_decide_where_the_order_goes(client, t0, order, expected):  # type: ignore[no-untyped-def]
    feed(client.app, *two_factories(t0))
    kw = {**ONE_STEP, **order} if "step_ids" not in order else order
    feed(client.app, e.order_submitted(t0, "ord-2", **kw))
    plan_now(client)
    assert outcome(client.app) == expected


def test_an_over_budget_order_says_by_how_much(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *two_factories(t0),
         e.order_submitted(t0, "ord-2", budget=500.0, step_ids=("s",)))
    plan_now(client)
    (unplaced,) = outbox_events(client.app, "step.unplaced")
    assert unplaced["payload"]["detail"] == (
        f"the cheapest plan found costs {PRICE_ON_WIN2:.2f} CNY, over the order's budget "
        "of 500.00 CNY")
