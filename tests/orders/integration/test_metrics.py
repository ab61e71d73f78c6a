"""The orders service's /metrics: orders accepted (not replays, not refused items)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

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
