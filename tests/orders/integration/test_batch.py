"""POST /v1/orders:batch: per-item results, one transaction, idempotency and access."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tests.orders.integration.support import (
    BUYER,
    CLUSTER,
    OPERATOR,
    OTHER_BUYER,
    SUPPLIER,
    count,
    order_body,
    outbox_events,
)

pytestmark = pytest.mark.integration

URL = "/v1/orders:batch"


def post_batch(client: TestClient, orders: list[Any], headers: dict[str, str] = BUYER,
               key: str | None = None) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(URL, json={"orders": orders}, headers={**headers, **extra})


def stored(app: FastAPI) -> tuple[int, int, int, int]:
    return (count(app, "orders"), count(app, "order_steps"), len(outbox_events(app)),
            count(app, "order_timeline"))


def test_each_item_is_judged_alone(client: TestClient, app: FastAPI) -> None:
    bad_hours = order_body()
    bad_hours["steps"][0]["hours"] = 0
    orders = [order_body(title="a"), order_body(max_distance_km=501), "not an order",
              bad_hours, order_body(cluster_id="elsewhere", priority=9), order_body(title="b")]
    response = post_batch(client, orders)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (2, 4)
    items = answer["items"]
    assert [i["index"] for i in items] == list(range(6))
    for i in (0, 5):
        assert set(items[i]) == {"index", "id", "status"} and items[i]["status"] == "submitted"
    fields = {i: [e["field"] for e in items[i]["problem"]["errors"]] for i in (1, 2, 3, 4)}
    assert fields == {1: ["orders.1.max_distance_km"], 2: ["orders.2"],
                      3: ["orders.3.steps.0.hours"], 4: ["orders.4.priority"]}
    problem = items[3]["problem"]
    assert (problem["status"], problem["title"]) == (422, "Validation failed")
    assert problem["type"].endswith("/validation-failed")
    assert "orders.3.steps.0.hours" in problem["detail"]

    ids = [items[0]["id"], items[5]["id"]]
    assert stored(app) == (2, 4, 2, 2)
    events = outbox_events(app)
    assert [e["payload"]["order_id"] for e in events] == ids
    assert {(e["type"], e["key"]) for e in events} == {("order.submitted", CLUSTER)}
    one = client.get(f"/v1/orders/{ids[1]}", headers=BUYER).json()
    assert (one["title"], one["status"], len(one["steps"])) == ("b", "submitted", 2)


def test_domain_rules_are_checked_per_item(client: TestClient, app: FastAPI) -> None:
    cycle = order_body()
    cycle["steps"][0]["after"] = ["coat"]
    orders = [order_body(cluster_id="elsewhere"), cycle,
              order_body(due="2020-01-01T00:00:00Z"), order_body()]
    items = post_batch(client, orders).json()["items"]
    fields = [[e["field"] for e in i["problem"]["errors"]] for i in items[:3]]
    assert fields == [["orders.0.cluster_id"], ["orders.1.steps.0.after", "orders.1.steps.1.after"],
                      ["orders.2.due"]]
    assert items[3]["status"] == "submitted" and stored(app) == (1, 2, 1, 1)


def test_a_cluster_outside_the_token_is_refused_per_item(client: TestClient) -> None:
    items = post_batch(client, [order_body()], headers=bearer("firm-b1", "buyer", "other"))
    [item] = items.json()["items"]
    assert [e["field"] for e in item["problem"]["errors"]] == ["orders.0.cluster_id"]


def test_nothing_is_stored_when_every_item_is_refused(client: TestClient, app: FastAPI) -> None:
    response = post_batch(client, [order_body(priority=0), 7], key="k-none")
    assert response.status_code == 200
    assert (response.json()["accepted"], response.json()["rejected"]) == (0, 2)
    assert stored(app) == (0, 0, 0, 0) and count(app, "idempotency_keys") == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"orders": []}, "body.orders"),
    ({"orders": [{}] * 1001}, "body.orders"),
    ({"orders": {"0": {}}}, "body.orders"),
    ({}, "body.orders"),
    ({"orders": [{}], "extra": 1}, "body.extra"),
])
def test_the_batch_itself_must_hold_1_to_1000_orders(
    client: TestClient, app: FastAPI, body: dict[str, Any], field: str
) -> None:
    response = client.post(URL, json=body, headers={**BUYER, "Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert stored(app) == (0, 0, 0, 0) and count(app, "idempotency_keys") == 0


def test_a_full_batch_of_1000(client: TestClient, app: FastAPI) -> None:
    response = post_batch(client, [order_body(title=f"o{i}") for i in range(1000)])
    assert response.json()["accepted"] == 1000
    assert stored(app) == (1000, 2000, 1000, 1000)


def test_the_same_key_and_body_answer_the_first_response(client: TestClient, app: FastAPI) -> None:
    orders = [order_body(), order_body(priority=0)]
    first = post_batch(client, orders, key="k-1")
    again = post_batch(client, orders, key="k-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert stored(app) == (1, 2, 1, 1)


def test_the_same_key_with_another_body_conflicts(client: TestClient, app: FastAPI) -> None:
    orders = [order_body()]
    post_batch(client, orders, key="k-1")
    for other in ([order_body(title="other")], orders * 2):
        clash = post_batch(client, other, key="k-1")
        assert clash.status_code == 409
        assert clash.headers["content-type"] == "application/problem+json"
    single = client.post("/v1/orders", json=orders[0], headers={**BUYER, "Idempotency-Key": "k-1"})
    assert single.status_code == 409
    assert stored(app) == (1, 2, 1, 1)


def test_a_key_of_a_single_order_conflicts_with_a_batch(client: TestClient, app: FastAPI) -> None:
    body = order_body()
    client.post("/v1/orders", json=body, headers={**BUYER, "Idempotency-Key": "k-1"})
    assert post_batch(client, [body], key="k-1").status_code == 409
    assert stored(app) == (1, 2, 1, 1)


def test_keys_are_per_firm(client: TestClient, app: FastAPI) -> None:
    orders = [order_body()]
    mine = post_batch(client, orders, key="k-1").json()
    theirs = post_batch(client, orders, headers=OTHER_BUYER, key="k-1").json()
    assert mine["items"][0]["id"] != theirs["items"][0]["id"]
    assert stored(app)[0] == 2


def test_concurrent_retries_with_one_key_make_one_batch(client: TestClient, app: FastAPI) -> None:
    orders = [order_body(title=f"o{i}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post_batch(client, orders, key="k-race"), range(4)))
    assert {a.status_code for a in answers} == {200}
    assert len({tuple(i["id"] for i in a.json()["items"]) for a in answers}) == 1
    assert stored(app) == (20, 40, 20, 20)


@pytest.mark.parametrize(("headers", "status"), [
    (SUPPLIER, 403), (OPERATOR, 403), ({}, 401), ({"Authorization": "Bearer nope"}, 401)])
def test_only_buyers_submit_batches(
    client: TestClient, app: FastAPI, headers: dict[str, str], status: int
) -> None:
    response = post_batch(client, [order_body()], headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert stored(app) == (0, 0, 0, 0)


def test_the_schema_documents_the_batch(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    operation = spec["paths"]["/v1/orders:batch"]["post"]
    assert operation["operationId"] == "submit_orders_batch"
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    assert schemas["OrdersBatchCreate"]["properties"]["orders"]["maxItems"] == 1000
    assert {"OrdersBatchCreate", "OrdersBatchPublic", "BatchRejected", "ProblemPublic",
            "OrderCancel", "TimelinePublic", "OrderCreate", "OrderPublic"} <= set(schemas)
