"""The orders service's /metrics: orders accepted (not replays, not refused items), and the
rows retention deleted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.orders.bootstrap import MIGRATIONS_DIR, create_app
from services.orders.config import Settings
from shared.db import make_engine, run_migrations
from shared.messaging.tables import as_stored, inbox, outbox
from tests.helpers import sample, scrape
from tests.orders.integration.support import BUYER, order_body

pytestmark = pytest.mark.integration


def submitted(client: TestClient) -> float | None:
    return sample(scrape(client.get("/metrics").text), "sharefab_orders_submitted_total")


def test_orders_submitted_counts_accepted_orders(client: TestClient) -> None:
    assert submitted(client) == 0
    key, body = {"Idempotency-Key": "k-1"}, order_body()
    first = client.post("/v1/orders", json=body, headers={**BUYER, **key})
    assert first.status_code == 201
    replay = client.post("/v1/orders", json=body, headers={**BUYER, **key})
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert client.post("/v1/orders", json=order_body(priority=9), headers=BUYER
                       ).status_code == 422
    assert submitted(client) == 1
    batch = client.post("/v1/orders:batch", headers=BUYER, json={
        "orders": [order_body(title="a"), order_body(priority=9), order_body(title="b")]})
    assert batch.json()["accepted"] == 2
    assert submitted(client) == 3
    order_id = first.json()["id"]
    client.get(f"/v1/orders/{order_id}", headers=BUYER)
    got = scrape(client.get("/metrics").text)
    assert sample(got, "sharefab_http_requests_total", method="POST", route="/v1/orders",
                  status="201") == 2  # the first answer and its replay
    assert sample(got, "sharefab_http_requests_total", method="POST", route="/v1/orders",
                  status="422") == 1
    assert sample(got, "sharefab_http_requests_total", method="GET",
                  route="/v1/orders/{order_id}", status="200") == 1


def test_a_started_service_prunes_its_outbox_and_inbox_and_says_so(database_url: str) -> None:
    """The runtime starts retention with the service: rows past it, written before the start,
    are gone once it runs, and /metrics counts them."""
    run_migrations(database_url, MIGRATIONS_DIR)
    engine = make_engine(database_url)
    old = as_stored(engine, datetime.now(UTC) - timedelta(days=40))
    with engine.begin() as conn:
        conn.execute(sa.insert(outbox), [{
            "event_id": "e-old", "topic": "orders.v1", "key": "k", "type": "t", "body": "{}",
            "created_at": old, "published_at": old}])
        conn.execute(sa.insert(inbox), [{"consumer": "orders", "event_id": "e-claimed",
                                         "type": "t", "applied_at": old}])
    app = create_app(Settings(database_url=database_url, kafka_consumer_enabled=False,
                              outbox_relay_enabled=False))
    try:
        with TestClient(app) as client:
            retention = app.state.runtime.retention
            deadline = time.monotonic() + 20
            while retention.pruned != {"outbox": 1, "inbox": 1} and time.monotonic() < deadline:
                time.sleep(0.05)
            got = scrape(client.get("/metrics").text)
        with engine.connect() as conn:
            left = (conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one(),
                    conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar_one())
    finally:
        engine.dispose()
    assert left == (0, 0)
    assert sample(got, "sharefab_retention_pruned_rows_total", table="outbox") == 1
    assert sample(got, "sharefab_retention_pruned_rows_total", table="inbox") == 1
