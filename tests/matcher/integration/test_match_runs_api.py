"""DESIGN §5's walk-through through the matcher: events in, POST /v1/match-runs, events out."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from services.matcher.domain.costs import haversine_km
from shared.events import payloads as ev
from tests.matcher import events as e
from tests.matcher.integration.conftest import (
    BUYER,
    OPERATOR,
    SUPPLIER,
    count,
    feed,
    outbox_events,
    plan_now,
)

pytestmark = pytest.mark.integration

PRICE = round(6 * 180.0 + 2.0 * haversine_km(39.95, 119.58, 39.94, 119.55), 2)


def test_the_walk_through_proposes_the_window_at_its_price(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    run = plan_now(client)
    assert (run["cluster_id"], run["trigger"], run["status"]) == (e.CLUSTER, "manual", "optimal")
    assert (run["placed_steps"], run["unplaced_steps"]) == (1, 0)
    assert run["objective"] == pytest.approx(PRICE)

    (proposed,) = outbox_events(client.app, "allocation.proposed")
    assert (proposed["key"], proposed["correlation_id"]) == (e.CLUSTER, "ord-1")
    assert proposed["payload"]["match_run_id"] == run["id"]
    assert proposed["version"] == 3  # each allocation says what the job is, for the supplier
    (allocation,) = proposed["payload"]["allocations"]
    job = allocation.pop("job")
    assert allocation == {
        "step_id": "stp-1", "window_id": "win-1", "machine_id": "mch-1", "factory_id": "fac-1",
        "hours": 6.0, "price": PRICE,
        "transport_km": round(haversine_km(39.95, 119.58, 39.94, 119.55), 3)}
    assert job | {"due": None} == {"title": "Brackets", "process": "cnc_milling",
                                   "material": "steel", "quantity": 500, "due": None,
                                   "step": "k0", "after": []}
    assert datetime.fromisoformat(job["due"]) == t0 + timedelta(days=7)  # the order's due date
    (done,) = outbox_events(client.app, "match_run.completed")
    assert done["correlation_id"] == run["id"]
    assert done["payload"]["placed_steps"] == 1 and done["payload"]["trigger"] == "manual"
    assert [x["type"] for x in outbox_events(client.app)] == ["allocation.proposed",
                                                               "match_run.completed"]


def test_each_job_names_the_steps_it_comes_after(client, t0):  # type: ignore[no-untyped-def]
    """So that capacity can refuse work reported out of order: mill's job names cut."""
    steps = [ev.SubmittedStep(step_id="stp-cut", key="cut", process="cnc_milling",
                              material="steel", quantity=500, hours=6.0, after=[]),
             ev.SubmittedStep(step_id="stp-mill", key="mill", process="cnc_milling",
                              material="steel", quantity=500, hours=6.0, after=["stp-cut"])]
    feed(client.app, *e.walkthrough(t0)[:-1],
         e.window_opened(t0 + timedelta(hours=48), "win-2"), e.order_submitted(t0, steps=steps))
    assert plan_now(client)["placed_steps"] == 2
    (proposed,) = outbox_events(client.app, "allocation.proposed")
    jobs = {a["step_id"]: a["job"] for a in proposed["payload"]["allocations"]}
    assert (jobs["stp-cut"]["step"], jobs["stp-cut"]["after"]) == ("cut", [])
    assert (jobs["stp-mill"]["step"], jobs["stp-mill"]["after"]) == (
        "mill", [{"step_id": "stp-cut", "key": "cut"}])

    # mill declined, cut accepted: mill's new proposal still names cut, pinned, not re-planned
    feed(client.app, e.held(step_id="stp-cut"), e.held(step_id="stp-mill", window_id="win-2"),
         e.accepted(step_id="stp-cut"), e.declined(step_id="stp-mill", window_id="win-2"),
         e.window_opened(t0 + timedelta(hours=48), "win-3"))
    assert plan_now(client)["placed_steps"] == 1
    again = outbox_events(client.app, "allocation.proposed")[-1]["payload"]["allocations"]
    assert [(a["step_id"], a["window_id"], a["job"]["after"]) for a in again] == [
        ("stp-mill", "win-3", [{"step_id": "stp-cut", "key": "cut"}])]


def test_a_run_can_be_read_back_with_its_proposals(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    run = plan_now(client)
    got = client.get(f"/v1/match-runs/{run['id']}", headers=OPERATOR)
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == run["id"] and body["parameters"]["solver"] == "cpsat"
    assert [(p["step_id"], p["window_id"], p["price"]) for p in body["proposals"]] == [
        ("stp-1", "win-1", PRICE)]
    assert body["unplaced"] == []
    listed = client.get("/v1/match-runs", params={"cluster_id": e.CLUSTER}, headers=OPERATOR)
    assert [r["id"] for r in listed.json()["items"]] == [run["id"]]
    feed(client.app, e.cluster_created("elsewhere"))
    other = client.get("/v1/match-runs", params={"cluster_id": "elsewhere"}, headers=OPERATOR)
    assert other.json() == {"items": [], "next_cursor": None}  # known, never planned


def test_listing_the_runs_of_an_unknown_cluster_is_422(client, t0):  # type: ignore[no-untyped-def]
    """A typo in the filter must not read as a cluster that was never planned."""
    feed(client.app, *e.walkthrough(t0))
    plan_now(client)
    r = client.get("/v1/match-runs", params={"cluster_id": "qhd-autp"}, headers=OPERATOR)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "query.cluster_id",
                                   "message": "cluster 'qhd-autp' is not known to the matcher"}]


def test_runs_page_with_a_cursor(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    ids = [plan_now(client)["id"] for _ in range(3)]
    first = client.get("/v1/match-runs?limit=2", headers=OPERATOR).json()
    assert [r["id"] for r in first["items"]] == ids[:0:-1] and first["next_cursor"]
    second = client.get("/v1/match-runs", params={"limit": 2, "cursor": first["next_cursor"]},
                        headers=OPERATOR).json()
    assert [r["id"] for r in second["items"]] == ids[:1] and second["next_cursor"] is None


def test_an_empty_cluster_still_gets_a_run(client):  # type: ignore[no-untyped-def]
    feed(client.app, e.cluster_created())
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"], run["status"]) == (0, 0, "optimal")


def test_unknown_cluster_is_422_and_nothing_is_written(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    r = client.post("/v1/match-runs", json={"cluster_id": "atlantis"}, headers=OPERATOR)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "body.cluster_id"
    assert count(client.app, "match_runs") == 0 and outbox_events(client.app) == []
    r = client.post("/v1/match-runs", json={}, headers=OPERATOR)
    assert r.status_code == 422


@pytest.mark.parametrize("headers", [BUYER, SUPPLIER])
def test_match_runs_are_for_the_operator_only(client, t0, headers):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    r = client.post("/v1/match-runs", json={"cluster_id": e.CLUSTER}, headers=headers)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/match-runs", headers=headers).status_code == 403
    assert client.get("/v1/match-runs/run_x", headers=headers).status_code == 403
    assert count(client.app, "match_runs") == 0 and outbox_events(client.app) == []
    assert client.get("/v1/match-runs").status_code == 401


def test_unknown_run_is_404_and_a_bad_cursor_422(client):  # type: ignore[no-untyped-def]
    r = client.get("/v1/match-runs/run_missing", headers=OPERATOR)
    assert r.status_code == 404 and r.json()["status"] == 404
    assert client.get("/v1/match-runs?cursor=zzz", headers=OPERATOR).status_code == 422
    assert client.get("/v1/match-runs?limit=0", headers=OPERATOR).status_code == 422


def test_listing_and_reading_runs_leave_their_stored_inputs_unread(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    run = plan_now(client)
    statements: list[str] = []

    def listener(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        if "FROM match_runs" in statement:
            statements.append(statement)

    engine = client.app.state.runtime.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get("/v1/match-runs", headers=OPERATOR).status_code == 200
        assert client.get(f"/v1/match-runs/{run['id']}", headers=OPERATOR).status_code == 200
        reads = len(statements)
        # a replay needs the input: it is loaded then, and only then
        replay = client.post(f"/v1/match-runs/{run['id']}/replay", headers=OPERATOR)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert reads >= 2 and not any("snapshot" in s for s in statements[:reads]), statements
    assert replay.status_code == 200 and replay.json()["identical"] is True
    assert any("snapshot" in s for s in statements[reads:])
