"""Incoming events through app.state.event_handler: the saga seen from orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.events.payloads import (
    AllocationProposed,
    ClusterCreated,
    ProposedAllocation,
    ReservationAccepted,
    ReservationDeclined,
    ReservationHeld,
    ReservationRejected,
    StepUnplaced,
)
from tests.orders.integration.support import (
    BUYER,
    CLUSTER,
    OPERATOR,
    count,
    feed,
    inbox_count,
    order_body,
    outbox_events,
)

pytestmark = pytest.mark.integration

HIDDEN = {"factory_id": None, "factory_name": None, "window_id": None}


def submit_one_step(client: TestClient) -> tuple[str, str]:
    body = order_body()
    del body["steps"][1]
    order = client.post("/v1/orders", json=body, headers=BUYER).json()
    return order["id"], order["steps"][0]["id"]


def proposal(order_id: str, step_id: str, window_id: str = "W1") -> AllocationProposed:
    return AllocationProposed(match_run_id="run-1", cluster_id=CLUSTER, order_id=order_id,
                              allocations=[ProposedAllocation(
                                  step_id=step_id, window_id=window_id, machine_id="M1",
                                  factory_id="F1", hours=6.0, price=1086.0, transport_km=3.0)])


def held(order_id: str, step_id: str, window_id: str = "W1") -> ReservationHeld:
    return ReservationHeld(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                           window_id=window_id, hours=6.0, reservation_id="R1", factory_id="F1",
                           price=1086.0, expires_at=datetime.now(UTC) + timedelta(hours=24))


def accepted(order_id: str, step_id: str) -> ReservationAccepted:
    return ReservationAccepted(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                               window_id="W1", hours=6.0, reservation_id="R1", factory_id="F1",
                               factory_name="Haigang Precision", price=1086.0)


def read(client: TestClient, order_id: str, headers: dict[str, str] = BUYER) -> dict:  # type: ignore[type-arg]
    return client.get(f"/v1/orders/{order_id}", headers=headers).json()  # type: ignore[no-any-return]


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
