"""order.cancelled, reservation.expired/released, window.updated/closed, factory.updated and
machine.updated through the app's event handler, stored in the database, and what the next
match run makes of them."""

import pytest

from shared.events import payloads as ev
from tests.matcher import events as e
from tests.matcher.integration.conftest import (
    BUYER,
    count,
    feed,
    free_hours,
    outbox_events,
    plan_now,
    steps,
)

pytestmark = pytest.mark.integration


def proposals(app):  # type: ignore[no-untyped-def]
    return [(x["payload"]["order_id"], [a["window_id"] for a in x["payload"]["allocations"]])
            for x in outbox_events(app, "allocation.proposed")]


def with_dear_window(t0):  # type: ignore[no-untyped-def]
    """The walk-through plus mch-2 (200 CNY/h) with win-2."""
    return [*e.walkthrough(t0), e.machine_added("mch-2", hourly_rate=200.0),
            e.window_opened(t0, "win-2", machine_id="mch-2")]


def test_a_cancelled_order_frees_its_hours_and_is_not_planned_again(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    plan_now(client)
    feed(client.app, e.held(), e.accepted())
    assert free_hours(client.app) == {"win-1": 14.0}
    cancelled = e.envelope(e.order_cancelled())
    client.app.state.event_handler(*cancelled)
    assert steps(client.app)["stp-1"] == {"status": "cancelled", "window_id": None,
                                          "excluded": []}
    assert free_hours(client.app) == {"win-1": 20.0}
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (0, 0)
    assert proposals(client.app) == [("ord-1", ["win-1"])]
    client.app.state.event_handler(*cancelled)  # redelivered: the inbox stops it
    assert count(client.app, "inbox") == 9
    body = client.get("/v1/steps/stp-1/explanation", headers=BUYER).json()
    assert (body["status"], body["reason"], body["funnel"]) == ("cancelled", None, [])
    assert body["detail"] == "the order was cancelled: customer withdrew"


def test_a_release_arriving_first_cancels_the_order_the_same_way(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0), e.order_submitted(t0, "ord-2", step_ids=("a", "b")))
    plan_now(client)
    feed(client.app, *(e.held(step_id=s, order_id="ord-2") for s in "ab"),
         e.released(step_id="a", order_id="ord-2"))
    stored = steps(client.app)
    assert (stored["a"]["status"], stored["b"]["status"]) == ("cancelled", "cancelled")
    assert stored["stp-1"]["status"] == "proposed"
    assert free_hours(client.app) == {"win-1": 14.0}
    feed(client.app, e.released(step_id="b", order_id="ord-2"),
         e.order_cancelled("ord-2", step_ids=("a", "b")))
    assert steps(client.app) == stored
    assert plan_now(client)["placed_steps"] == 0


def test_an_expired_hold_is_replanned_on_another_window(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *with_dear_window(t0))
    plan_now(client)
    feed(client.app, e.held(), e.expired())
    assert steps(client.app)["stp-1"] == {"status": "pending", "window_id": None,
                                          "excluded": ["win-1"]}
    assert free_hours(client.app) == {"win-1": 20.0, "win-2": 20.0}
    plan_now(client)
    assert proposals(client.app) == [("ord-1", ["win-1"]), ("ord-1", ["win-2"])]


def test_more_hours_on_a_window_retry_the_unplaced_steps(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0), e.order_submitted(t0, "ord-2", hours=16.0))
    plan_now(client)
    (unplaced,) = outbox_events(client.app, "step.unplaced")
    assert unplaced["payload"]["reason"] == "capacity_taken"
    feed(client.app, e.window_updated(t0, hours=18.0))  # still too little: nothing retried
    assert plan_now(client)["unplaced_steps"] == 0
    feed(client.app, e.window_updated(t0, hours=22.0))
    assert steps(client.app)["stp-2"]["status"] == "pending"
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (1, 0)
    assert proposals(client.app) == [("ord-1", ["win-1"]), ("ord-2", ["win-1"])]
    assert free_hours(client.app) == {"win-1": 0.0}


def test_a_redelivered_update_does_not_bring_back_old_hours(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    first = e.envelope(e.window_updated(t0, hours=10.0))
    client.app.state.event_handler(*first)
    feed(client.app, e.window_updated(t0, hours=12.0, end_h=30))
    client.app.state.event_handler(*first)
    assert free_hours(client.app) == {"win-1": 12.0}


def test_a_closed_window_leaves_planning_and_its_proposal_is_withdrawn(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *with_dear_window(t0))
    first = plan_now(client)
    feed(client.app, e.window_closed())
    assert count(client.app, "windows") == 1
    assert steps(client.app)["stp-1"] == {"status": "pending", "window_id": None,
                                          "excluded": []}
    assert free_hours(client.app) == {"win-2": 20.0}
    plan_now(client)
    assert proposals(client.app) == [("ord-1", ["win-1"]), ("ord-1", ["win-2"])]
    # capacity's answer to the first proposal comes later: it no longer concerns the step
    feed(client.app, e.rejected(run_id=first["id"], reason="window win-1 does not exist"))
    assert steps(client.app)["stp-1"]["status"] == "proposed"
    assert steps(client.app)["stp-1"]["window_id"] == "win-2"


def test_a_higher_verified_tier_or_a_new_material_retries_the_unplaced_steps(client, t0):  # type: ignore[no-untyped-def]
    """The read model compares the stored factory and machine with the new state."""
    titanium = [ev.SubmittedStep(step_id="stp-3", key="k0", process="cnc_milling",
                                 material="titanium", quantity=10, hours=4.0, after=[])]
    feed(client.app, *e.walkthrough(t0), e.order_submitted(t0, "ord-2", min_tier="leading"),
         e.order_submitted(t0, "ord-3", steps=titanium))
    plan_now(client)
    assert {u["payload"]["step_id"]: u["payload"]["reason"]
            for u in outbox_events(client.app, "step.unplaced")} == {
        "stp-2": "tier_below_minimum", "stp-3": "material_unsupported"}
    feed(client.app, e.factory(ev.FactoryUpdated, verified_tier="leading"))
    assert (steps(client.app)["stp-2"]["status"], steps(client.app)["stp-3"]["status"]) == (
        "pending", "pending")
    plan_now(client)  # stp-3 fails again: the mill still takes no titanium
    assert steps(client.app)["stp-2"]["status"] == "proposed"
    assert steps(client.app)["stp-3"]["status"] == "unplaced"
    feed(client.app, e.machine_updated(materials=("steel", "titanium")))
    assert steps(client.app)["stp-3"]["status"] == "pending"
    plan_now(client)
    assert proposals(client.app)[-1] == ("ord-3", ["win-1"])
