"""Helpers of the orders integration tests: tokens, a valid order body, events, table counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.events import Envelope, EventPayload, new_event
from shared.events.payloads import (
    AllocationProposed,
    ProposedAllocation,
    ReservationAccepted,
    ReservationCompleted,
    ReservationHeld,
    ReservationStarted,
)
from shared.messaging.tables import inbox, outbox
from tests.helpers import bearer

CLUSTER = "qhd-auto"
BUYER = bearer("firm-b1", "buyer", CLUSTER)
OTHER_BUYER = bearer("firm-b2", "buyer", CLUSTER)
SUPPLIER = bearer("firm-s1", "supplier", CLUSTER)
OPERATOR = bearer("platform", "operator")


def order_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cluster_id": CLUSTER, "title": "Brackets", "delivery": {"lat": 39.94, "lon": 119.55},
        "due": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "min_tier": "basic", "certifications": [], "max_distance_km": 60, "priority": 3,
        "steps": [
            {"key": "mill", "process": "cnc_milling", "material": "steel", "quantity": 500,
             "hours": 6.0, "after": []},
            {"key": "coat", "process": "surface_coating", "quantity": 500, "hours": 2.0,
             "after": ["mill"]},
        ],
    }
    body.update(changes)
    return body


def feed(app: FastAPI, payload: EventPayload, envelope: Envelope | None = None) -> Envelope:
    """Apply an incoming event as the Kafka consumer would."""
    envelope = envelope or new_event(payload, key=CLUSTER, producer="test")
    app.state.event_handler(envelope, payload)
    return envelope


def count(app: FastAPI, table: sa.Table | str) -> int:
    table = sa.table(table) if isinstance(table, str) else table
    with app.state.runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def outbox_events(app: FastAPI) -> list[dict[str, Any]]:
    with app.state.runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.topic, outbox.c.key, outbox.c.body)
                            .order_by(outbox.c.id)).all()
    return [{"topic": r.topic, "key": r.key, **json.loads(r.body)} for r in rows]


def inbox_count(app: FastAPI) -> int:
    return count(app, inbox)


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


def started(order_id: str, step_id: str) -> ReservationStarted:
    return ReservationStarted(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                              window_id="W1", hours=6.0, reservation_id="R1", factory_id="F1",
                              started_at=datetime.now(UTC))


def completed(order_id: str, step_id: str) -> ReservationCompleted:
    now = datetime.now(UTC)
    return ReservationCompleted(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                window_id="W1", hours=6.0, reservation_id="R1",
                                factory_id="F1", started_at=now, completed_at=now)


def produce(app: FastAPI, order: dict[str, Any], status: str) -> None:
    """Every step accepted, then the suppliers' reports (capacity's events) that take the
    order to ``status``: in_production (the first step started) or completed (every step)."""
    steps = [s["id"] for s in order["steps"]]
    for step_id in steps:
        feed(app, accepted(order["id"], step_id))
    reports = [started(order["id"], steps[0])] if status == "in_production" else [
        completed(order["id"], step_id) for step_id in steps]
    for report in reports:
        feed(app, report)


def timeline(client: TestClient, order_id: str, headers: dict[str, str] = BUYER,
             **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/v1/orders/{order_id}/timeline", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]
