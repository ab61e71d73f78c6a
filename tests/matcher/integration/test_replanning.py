"""Re-planning after a rejection, unplaceable steps and their explanation, new capacity."""

import pytest

from tests.matcher import events as e
from tests.matcher.integration.conftest import (
    BUYER,
    OPERATOR,
    OTHER_BUYER,
    SUPPLIER,
    feed,
    outbox_events,
    plan_now,
)

pytestmark = pytest.mark.integration


def proposals(app):  # type: ignore[no-untyped-def]
    return [(x["payload"]["order_id"], [a["window_id"] for a in x["payload"]["allocations"]])
            for x in outbox_events(app, "allocation.proposed")]


def test_a_rejected_proposal_is_replanned_on_another_window(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0),
         e.machine_added("mch-2", hourly_rate=200.0), e.window_opened(t0, "win-2",
                                                                      machine_id="mch-2"))
    first = plan_now(client)
    assert proposals(client.app) == [("ord-1", ["win-1"])]  # 180 CNY/h beats 200
    feed(client.app, e.rejected(run_id=first["id"]))
    second = plan_now(client)
    assert second["placed_steps"] == 1
    assert proposals(client.app) == [("ord-1", ["win-1"]), ("ord-1", ["win-2"])]
    third = plan_now(client)  # nothing pending any more: nothing proposed again
    assert (third["placed_steps"], third["unplaced_steps"]) == (0, 0)
    assert len(proposals(client.app)) == 2


def test_a_step_with_no_other_window_after_rejection_is_unplaced(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    first = plan_now(client)
    feed(client.app, e.rejected(run_id=first["id"]))
    plan_now(client)
    (unplaced,) = outbox_events(client.app, "step.unplaced")
    assert unplaced["payload"]["reason"] == "capacity_taken"
    assert "1 rejected or declined" in unplaced["payload"]["detail"]


def test_an_unplaceable_order_gets_step_unplaced_and_an_explanation(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0),
         e.order_submitted(t0, "ord-2", min_tier="excellent"))
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (1, 1)
    (unplaced,) = outbox_events(client.app, "step.unplaced")
    assert unplaced["correlation_id"] == "ord-2" and unplaced["key"] == e.CLUSTER
    assert unplaced["payload"] | {"detail": "-"} == {
        "match_run_id": run["id"], "cluster_id": e.CLUSTER, "order_id": "ord-2",
        "step_id": "stp-2", "reason": "tier_below_minimum", "detail": "-"}

    r = client.get("/v1/steps/stp-2/explanation", headers=BUYER)
    assert r.status_code == 200
    body = r.json()
    assert (body["step_id"], body["order_id"], body["status"], body["reason"]) == (
        "stp-2", "ord-2", "unplaced", "tier_below_minimum")
    assert body["detail"] == unplaced["payload"]["detail"]
    assert body["funnel"] == [{"stage": "windows", "candidates": 1},
                              {"stage": "process", "candidates": 1},
                              {"stage": "material", "candidates": 1},
                              {"stage": "tier", "candidates": 0}]
    assert body["nearest_miss"] == "tier: factory tier advanced is below excellent"
    assert body["revisable_terms"] == ["min_tier"]
    detail = client.get(f"/v1/match-runs/{run['id']}", headers=OPERATOR).json()
    assert [(u["step_id"], u["reason"]) for u in detail["unplaced"]] == [
        ("stp-2", "tier_below_minimum")]


def test_explanations_are_for_the_orders_buyer_and_the_operator(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    plan_now(client)
    ok = client.get("/v1/steps/stp-1/explanation", headers=OPERATOR)
    assert ok.status_code == 200 and ok.json()["status"] == "proposed"
    assert ok.json()["reason"] is None and ok.json()["funnel"][-1]["candidates"] == 1
    for headers in (OTHER_BUYER, SUPPLIER):
        r = client.get("/v1/steps/stp-1/explanation", headers=headers)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/steps/nope/explanation", headers=OPERATOR).status_code == 404
    assert client.get("/v1/steps/stp-1/explanation").status_code == 401


def test_new_capacity_retries_unplaced_steps(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0), e.order_submitted(t0, "ord-2", hours=30.0))
    plan_now(client)
    assert [x["payload"]["reason"] for x in outbox_events(client.app, "step.unplaced")] == [
        "no_window_before_due"]  # 30 h never fits a 20 h window
    feed(client.app, e.window_opened(t0, "win-3", hours=40.0, end_h=60))
    plan_now(client)
    assert proposals(client.app) == [("ord-1", ["win-1"]), ("ord-2", ["win-3"])]


def test_held_and_accepted_steps_keep_their_hours(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    plan_now(client)
    feed(client.app, e.held(), e.accepted(), e.order_submitted(t0, "ord-2", hours=15.0))
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (0, 1)
    (unplaced,) = outbox_events(client.app, "step.unplaced")
    assert unplaced["payload"]["reason"] == "capacity_taken"
    r = client.get("/v1/steps/stp-1/explanation", headers=BUYER).json()
    assert r["status"] == "accepted"
