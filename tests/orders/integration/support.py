"""Helpers of the orders integration tests: tokens, a valid order body, events, table counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from shared.events import Envelope, EventPayload, new_event
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
