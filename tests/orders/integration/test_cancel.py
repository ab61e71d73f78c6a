"""POST /v1/orders/{id}/cancel: until production starts, with order.cancelled, owner only."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.orders.integration.support import (
    BUYER,
    CLUSTER,
    OPERATOR,
    OTHER_BUYER,
    SUPPLIER,
    accepted,
    feed,
    held,
    order_body,
    outbox_events,
    produce,
    proposal,
    read,
    started,
    submit_one_step,
    timeline,
)

pytestmark = pytest.mark.integration


def cancel(client: TestClient, order_id: str, headers: dict[str, str] = BUYER,
           **body: object):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/orders/{order_id}/cancel", json=body or None, headers=headers)


def test_cancel_emits_order_cancelled_with_every_step(client: TestClient, app: FastAPI) -> None:
    order = client.post("/v1/orders", json=order_body(), headers=BUYER).json()
    response = cancel(client, order["id"], reason="  customer withdrew  ")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "cancelled" and answer["updated_at"] > answer["created_at"]
    assert [s["status"] for s in answer["steps"]] == ["cancelled", "cancelled"]
    assert read(client, order["id"]) == answer
    submitted, cancelled = outbox_events(app)
    assert [cancelled[k] for k in ("topic", "key", "type", "correlation_id")] == [
        "orders.v1", CLUSTER, "order.cancelled", order["id"]]
    assert cancelled["payload"] == {
        "order_id": order["id"], "cluster_id": CLUSTER, "buyer_firm_id": "firm-b1",
        "step_ids": [s["id"] for s in order["steps"]], "reason": "customer withdrew"}
    last = timeline(client, order["id"])[-1]
    assert (last["type"], last["event_id"], last["summary"]) == (
        "order.cancelled", cancelled["event_id"], {"steps": 2, "reason": "customer withdrew"})


def test_cancel_without_a_body(client: TestClient, app: FastAPI) -> None:
    order_id, _ = submit_one_step(client)
    response = client.post(f"/v1/orders/{order_id}/cancel", headers=BUYER)
    assert response.status_code == 200, response.text
    assert outbox_events(app)[-1]["payload"]["reason"] is None


def test_an_allocated_order_is_cancelled_and_hides_the_allocation(
    client: TestClient, app: FastAPI
) -> None:
    order_id, step_id = submit_one_step(client)
    for event in (proposal(order_id, step_id), held(order_id, step_id),
                  accepted(order_id, step_id)):
        feed(app, event)
    assert read(client, order_id)["status"] == "allocated"
    answer = cancel(client, order_id).json()
    assert answer["status"] == "cancelled"
    assert answer["steps"][0]["status"] == "cancelled" and answer["steps"][0]["allocation"] is None


@pytest.mark.parametrize("status", ["in_production", "completed"])
def test_too_late_to_cancel_is_a_conflict(client: TestClient, app: FastAPI, status: str) -> None:
    order = client.post("/v1/orders", json=order_body(), headers=BUYER).json()
    produce(app, order, status)
    before = read(client, order["id"])
    assert before["status"] == status
    response = cancel(client, order["id"], reason="late")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert status in response.json()["detail"]
    assert read(client, order["id"]) == before
    assert [e["type"] for e in outbox_events(app)] == ["order.submitted"]
    assert "order.cancelled" not in [e["type"] for e in timeline(client, order["id"])]


def test_a_step_in_production_stops_a_cancel_before_the_order_is_allocated(
        client: TestClient, app: FastAPI) -> None:
    order = client.post("/v1/orders", json=order_body(), headers=BUYER).json()
    cut, mill = (s["id"] for s in order["steps"])
    feed(app, accepted(order["id"], cut))
    feed(app, started(order["id"], cut))
    feed(app, held(order["id"], mill, "W2"))
    before = read(client, order["id"])
    assert (before["status"], [s["status"] for s in before["steps"]]) == (
        "partially_allocated", ["in_production", "held"])
    response = cancel(client, order["id"])
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == (
        f"order {order['id']}: production of step {order['steps'][0]['key']} has started; "
        "orders can be cancelled only until production starts")
    assert read(client, order["id"]) == before


def test_cancelling_twice_is_a_conflict(client: TestClient, app: FastAPI) -> None:
    order_id, _ = submit_one_step(client)
    assert cancel(client, order_id).status_code == 200
    response = cancel(client, order_id, reason="again")
    assert response.status_code == 409
    assert "cancelled" in response.json()["detail"]
    assert [e["type"] for e in outbox_events(app)] == ["order.submitted", "order.cancelled"]


def test_the_operator_may_cancel_any_order(client: TestClient, app: FastAPI) -> None:
    order_id, _ = submit_one_step(client)
    assert cancel(client, order_id, headers=OPERATOR).json()["status"] == "cancelled"
    assert outbox_events(app)[-1]["payload"]["buyer_firm_id"] == "firm-b1"


@pytest.mark.parametrize(("headers", "status"), [
    (OTHER_BUYER, 404), (SUPPLIER, 403), ({}, 401), ({"Authorization": "Bearer nope"}, 401)])
def test_only_the_owner_or_the_operator_cancels(
    client: TestClient, app: FastAPI, headers: dict[str, str], status: int
) -> None:
    order_id, _ = submit_one_step(client)
    response = cancel(client, order_id, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert read(client, order_id)["status"] == "submitted"
    assert len(outbox_events(app)) == 1


def test_an_unknown_order_is_not_found(client: TestClient, app: FastAPI) -> None:
    assert cancel(client, "ord_nope").status_code == 404
    assert outbox_events(app) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": ""}, "body.reason"), ({"reason": "x" * 501}, "body.reason"),
    ({"reason": 5}, "body.reason"), ({"why": "x"}, "body.why")])
def test_a_bad_reason_is_refused(
    client: TestClient, app: FastAPI, body: dict[str, object], field: str
) -> None:
    order_id, _ = submit_one_step(client)
    response = client.post(f"/v1/orders/{order_id}/cancel", json=body, headers=BUYER)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert read(client, order_id)["status"] == "submitted" and len(outbox_events(app)) == 1
