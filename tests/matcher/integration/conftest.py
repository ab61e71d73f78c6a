"""A matcher app on a fresh database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
without broker, relay or planning loop: events go in through ``app.state.event_handler`` and
out through the outbox table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.matcher.adapters.orm import StepRow
from services.matcher.bootstrap import create_app
from services.matcher.config import Settings
from shared.events import EventPayload
from shared.messaging.tables import outbox
from tests.helpers import bearer
from tests.matcher import events as e

OPERATOR = bearer("platform", "operator")
BUYER = bearer("firm-b1", "buyer", e.CLUSTER)
OTHER_BUYER = bearer("firm-b2", "buyer", e.CLUSTER)
SUPPLIER = bearer("firm-s1", "supplier", e.CLUSTER)


def settings_for(database_url: str, **kw: Any) -> Settings:
    return Settings(database_url=database_url, kafka_consumer_enabled=False,
                    outbox_relay_enabled=False, **{"planner_enabled": False, **kw})


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(database_url))) as c:
        yield c


@pytest.fixture
def t0() -> datetime:
    return e.default_t0()


def feed(app: FastAPI, *payloads: EventPayload) -> None:
    for p in payloads:
        app.state.event_handler(*e.envelope(p))


def outbox_events(app: FastAPI, type_: str | None = None) -> list[dict[str, Any]]:
    """The envelopes written so far, oldest first (optionally of one type)."""
    query = sa.select(outbox.c.body).order_by(outbox.c.id)
    if type_ is not None:
        query = query.where(outbox.c.type == type_)
    with app.state.runtime.engine.connect() as conn:
        return [json.loads(body) for body in conn.scalars(query)]


def count(app: FastAPI, table: str) -> int:
    with app.state.runtime.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def plan_now(client: TestClient, cluster_id: str = e.CLUSTER) -> dict[str, Any]:
    response = client.post("/v1/match-runs", json={"cluster_id": cluster_id}, headers=OPERATOR)
    assert response.status_code == 201, response.text
    return response.json()


def steps(app: FastAPI) -> dict[str, dict[str, Any]]:
    """step id → its stored status, window and excluded windows."""
    with app.state.runtime.session_factory() as session:
        return {r.id: {"status": r.status, "window_id": r.window_id,
                       "excluded": list(r.excluded_windows)}
                for r in session.scalars(sa.select(StepRow))}


def free_hours(app: FastAPI) -> dict[str, float]:
    """window id → free hours, as the next match run sees them (windows not yet ended)."""
    with app.state.runtime.uow_factory() as uow:
        snap = uow.read_model.snapshot(e.CLUSTER, now=datetime.now(UTC), order_ids=[])
        return {w.id: w.free_hours for w in snap.windows}
