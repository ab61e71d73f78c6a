"""The request examples /docs offers ("Try it out") answer as documented: the order is
accepted, and so is its revision; of the batch, the first order is accepted and the second
refused on the field its example gets wrong."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import documented_example
from tests.orders.integration.support import BUYER

pytestmark = pytest.mark.integration


def test_the_documented_order_and_batch_answer_as_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    order = client.post("/v1/orders", headers=BUYER,
                        json=documented_example(doc, "post", "/v1/orders"))
    assert order.status_code == 201, order.text
    revised = client.post(f"/v1/orders/{order.json()['id']}/revise", headers=BUYER,
                          json=documented_example(doc, "post", "/v1/orders/{order_id}/revise"))
    assert revised.status_code == 201, revised.text

    batch = client.post("/v1/orders:batch", headers=BUYER,
                        json=documented_example(doc, "post", "/v1/orders:batch"))
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert (body["accepted"], body["rejected"]) == (1, 1), body
    first, second = body["items"]
    assert first["status"] == "submitted", first
    assert [e["field"] for e in second["problem"]["errors"]] == ["orders.1.max_distance_km"]
