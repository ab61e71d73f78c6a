"""Incoming events through app.state.event_handler: the saga seen from orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.events.payloads import (
    AllocationProposedV2,
    AllocationProposedV3,
    ClusterCreated,
    FactoryUpdated,
    MachineUpdated,
    MatchRunCompleted,
    OrderCancelled,
    ReservationDeclined,
    ReservationExpired,
    ReservationRejected,
    ReservationReleased,
    StepUnplaced,
    WindowClosed,
    WindowUpdated,
)
from tests.orders.integration.support import (
    BUYER,
    CLUSTER,
    HIDDEN,
    OPERATOR,
    accepted,
    completed,
    count,
    feed,
    held,
    inbox_count,
    outbox_events,
    proposal,
    read,
    started,
    submit_one_step,
)

pytestmark = pytest.mark.integration

def test_proposed_held_accepted_allocates_and_names_the_factory_only_then(
    client: TestClient, app: FastAPI
) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, proposal(order_id, step_id))
    order = read(client, order_id)
    assert order["status"] == "matching" and order["steps"][0]["status"] == "proposed"
    assert order["steps"][0]["allocation"] == {**HIDDEN, "hours": 6.0, "price": 1086.0}
    assert order["updated_at"] > order["created_at"]

    feed(app, held(order_id, step_id))
    for headers in (BUYER, OPERATOR):
        order = read(client, order_id, headers)
        assert order["status"] == "matching" and order["steps"][0]["status"] == "held"
        assert order["steps"][0]["allocation"] == {**HIDDEN, "hours": 6.0, "price": 1086.0}

    feed(app, accepted(order_id, step_id))
    order = read(client, order_id)
    assert order["status"] == "allocated" and order["steps"][0]["status"] == "accepted"
    assert order["steps"][0]["allocation"] == {
        "factory_id": "F1", "factory_name": "Haigang Precision", "window_id": "W1",
        "hours": 6.0, "price": 1086.0}
    listed = client.get("/v1/orders", params={"status": "allocated"}, headers=BUYER).json()
    assert [o["id"] for o in listed["items"]] == [order_id]
    assert len(outbox_events(app)) == 1  # orders emits nothing for incoming events


@pytest.mark.parametrize("version", [AllocationProposedV2, AllocationProposedV3])
def test_a_later_version_of_a_proposal_reads_as_version_1(
        client: TestClient, app: FastAPI, version: type[AllocationProposedV2]) -> None:
    """v2 adds each allocation's job, which is for the supplier, and v3 the job's step and the
    steps it comes after: the buyer's view is the same, and the timeline tells the proposal as
    before."""
    order_id, step_id = submit_one_step(client)
    v1 = proposal(order_id, step_id)
    job = {"title": "Brackets", "process": "cnc_milling", "material": "steel",
           "quantity": 500, "due": datetime.now(UTC) + timedelta(days=7)}
    if version is AllocationProposedV3:
        job |= {"step": "mill", "after": []}
    feed(app, version(**(v1.model_dump() | {"allocations": [
        a.model_dump() | {"job": job} for a in v1.allocations]})))
    order = read(client, order_id)
    assert order["steps"][0]["status"] == "proposed"
    assert order["steps"][0]["allocation"] == {**HIDDEN, "hours": 6.0, "price": 1086.0}
    timeline = client.get(f"/v1/orders/{order_id}/timeline", headers=BUYER).json()["items"]
    assert [e["type"] for e in timeline] == ["order.submitted", "allocation.proposed"]
    assert "Brackets" not in str(timeline[-1]["summary"])  # the job is not repeated back


def test_the_same_envelope_twice_changes_nothing(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    before = inbox_count(app)
    event = proposal(order_id, step_id)
    envelope = feed(app, event)
    feed(app, ReservationRejected(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                  window_id="W1", hours=6.0, reason="window gone"))
    assert read(client, order_id)["steps"][0]["status"] == "pending"
    feed(app, event, envelope)  # redelivered: must not propose the step again
    order = read(client, order_id)
    assert order["steps"][0]["status"] == "pending" and order["steps"][0]["allocation"] is None
    assert order["status"] == "matching"
    assert inbox_count(app) == before + 2


def test_a_declined_reservation_returns_the_step_for_re_planning(
    client: TestClient, app: FastAPI
) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, proposal(order_id, step_id))
    feed(app, held(order_id, step_id))
    feed(app, ReservationDeclined(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                  window_id="W1", hours=6.0, reservation_id="R1",
                                  factory_id="F1", reason="machine down"))
    assert read(client, order_id)["steps"][0]["status"] == "pending"
    feed(app, proposal(order_id, step_id, "W2"))
    feed(app, held(order_id, step_id, "W2"))
    assert read(client, order_id)["steps"][0]["status"] == "held"


def test_unplaced_then_proposed_again(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, StepUnplaced(match_run_id="run-1", cluster_id=CLUSTER, order_id=order_id,
                           step_id=step_id, reason="capacity_taken", detail="2 other steps"))
    order = read(client, order_id)
    assert order["status"] == "unplaced"
    assert order["steps"][0]["unplaced_reason"] == "capacity_taken"
    assert order["steps"][0]["allocation"] is None
    feed(app, proposal(order_id, step_id))
    order = read(client, order_id)
    assert order["status"] == "matching" and order["steps"][0]["unplaced_reason"] is None


def test_events_for_unknown_orders_are_ignored(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, proposal("ord_elsewhere", "stp_elsewhere"))
    feed(app, proposal(order_id, "stp_elsewhere"))
    order = read(client, order_id)
    assert order["status"] == "submitted" and order["steps"][0]["status"] == "pending"


def test_cluster_created_twice_keeps_one_cluster(client: TestClient, app: FastAPI) -> None:
    again = ClusterCreated(cluster_id=CLUSTER, name="renamed", lat=1, lon=2, max_distance_km=50)
    feed(app, again)
    feed(app, ClusterCreated(cluster_id="tangshan", name="T", lat=1, lon=2, max_distance_km=50))
    assert count(app, "clusters") == 2


def test_an_expired_hold_returns_the_step_for_re_planning(
    client: TestClient, app: FastAPI
) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, proposal(order_id, step_id))
    feed(app, held(order_id, step_id))
    feed(app, ReservationExpired(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                 window_id="W1", hours=6.0, reservation_id="R1",
                                 factory_id="F1"))
    order = read(client, order_id)
    assert order["status"] == "matching"
    assert order["steps"][0]["status"] == "pending" and order["steps"][0]["allocation"] is None
    feed(app, proposal(order_id, step_id, "W2"))
    assert read(client, order_id)["steps"][0]["status"] == "proposed"


def test_an_expiry_of_an_older_window_is_stale(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, proposal(order_id, step_id, "W2"))
    feed(app, ReservationExpired(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                 window_id="W1", hours=6.0, reservation_id="R0",
                                 factory_id="F1"))
    assert read(client, order_id)["steps"][0]["status"] == "proposed"


def test_a_release_changes_no_order(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, proposal(order_id, step_id))
    feed(app, held(order_id, step_id))
    before = read(client, order_id)
    feed(app, ReservationReleased(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                  window_id="W1", hours=6.0, reservation_id="R1",
                                  factory_id="F1", reason="order_cancelled"))
    assert read(client, order_id) == before


def test_event_types_orders_does_not_handle_are_ignored(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    before, inbox_before = read(client, order_id), inbox_count(app)
    now = datetime.now(UTC)
    window = {"window_id": "W1", "machine_id": "M1", "factory_id": "F1", "cluster_id": CLUSTER}
    for payload in (
        WindowUpdated(**window, start=now, end=now + timedelta(hours=8), hours=4.0),
        WindowClosed(**window),
        FactoryUpdated(factory_id="F1", firm_id="firm-s1", cluster_id=CLUSTER, name="H",
                       lat=39.9, lon=119.6, declared_tier="basic", verified_tier="basic",
                       sme=True, certifications=[]),
        MachineUpdated(machine_id="M1", factory_id="F1", cluster_id=CLUSTER, name="mill",
                       process="cnc_milling", materials=["steel"], hourly_rate=150.0),
        MatchRunCompleted(match_run_id="run-1", cluster_id=CLUSTER, trigger="batch",
                          status="optimal", placed_steps=0, unplaced_steps=1, objective=None,
                          wall_s=0.01),
        OrderCancelled(order_id=order_id, cluster_id=CLUSTER, buyer_firm_id="firm-b1",
                       step_ids=[step_id]),  # its own event type, were it ever fed back
    ):
        feed(app, payload)
    assert read(client, order_id) == before
    assert inbox_count(app) == inbox_before and len(outbox_events(app)) == 1


def test_the_buyer_sees_when_each_step_was_started_and_completed(client: TestClient,
                                                                  app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, accepted(order_id, step_id))
    start = started(order_id, step_id)
    feed(app, start)
    step = read(client, order_id)["steps"][0]
    assert (step["status"], step["completed_at"]) == ("in_production", None)
    assert parse(step["started_at"]) == start.started_at
    done = completed(order_id, step_id)
    feed(app, done)
    order = read(client, order_id)
    step = order["steps"][0]
    assert (order["status"], step["status"]) == ("completed", "completed")
    assert parse(step["started_at"]) == start.started_at  # the first report stands
    assert parse(step["completed_at"]) == done.completed_at
    assert step["allocation"]["factory_name"] == "Haigang Precision"
    listed = client.get("/v1/orders", params={"status": "completed"}, headers=BUYER).json()
    assert [o["id"] for o in listed["items"]] == [order_id]


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
