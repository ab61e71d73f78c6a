"""POST /v1/orders/{id}/revise over HTTP and a real database: the new order, the links both
ways, the two events, and every refusal as a problem document that changes nothing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.orders.integration.support import (
    BUYER,
    OPERATOR,
    OTHER_BUYER,
    SUPPLIER,
    order_body,
    outbox_events,
    produce,
    read,
    timeline,
)

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def revise(client: TestClient, order_id: str, body: dict, headers: dict[str, str] = BUYER):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/orders/{order_id}/revise", json=body, headers=headers)


@pytest.fixture
def order(client: TestClient) -> dict:
    response = client.post("/v1/orders", json=order_body(budget=2000.0), headers=BUYER)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_revision_is_a_new_order_linked_both_ways(client: TestClient, app: FastAPI,
                                                     order: dict) -> None:
    response = revise(client, order["id"], {"max_distance_km": 90, "budget": None,
                                            "delivery": {"lat": 39.9, "lon": 119.5}})
    assert response.status_code == 201, response.text
    new = response.json()
    assert response.headers["Location"] == f"/v1/orders/{new['id']}"
    assert (new["revision_of"], new["revised_as"], new["status"]) == (order["id"], None,
                                                                      "submitted")
    assert (new["max_distance_km"], new["budget"], new["delivery"]) == (
        90.0, None, {"lat": 39.9, "lon": 119.5})
    assert [(s["key"], s["process"], s["after"]) for s in new["steps"]] == [
        (s["key"], s["process"], s["after"]) for s in order["steps"]]
    assert read(client, new["id"]) == new
    old = read(client, order["id"])
    assert (old["status"], old["revised_as"]) == ("cancelled", new["id"])
    assert [(e["type"], e["payload"]["order_id"]) for e in outbox_events(app)[-2:]] == [
        ("order.cancelled", order["id"]), ("order.submitted", new["id"])]
    assert timeline(client, order["id"])[-1]["summary"]["reason"] == f"revised as {new['id']}"
    assert timeline(client, new["id"])[0]["summary"]["revision_of"] == order["id"]
    audit = client.get("/v1/audit", headers=OPERATOR, params={"action": "order.revised"})
    assert [(e["object_id"], e["detail"]["revised_as"]) for e in audit.json()["items"]] == [
        (order["id"], new["id"])]


def test_a_retry_with_the_same_key_answers_the_same_revision(client: TestClient, app: FastAPI,
                                                             order: dict) -> None:
    headers = BUYER | {"Idempotency-Key": "rev-1"}
    first = revise(client, order["id"], {"priority": 5}, headers)
    events = len(outbox_events(app))
    again = revise(client, order["id"], {"priority": 5}, headers)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert again.json()["id"] == first.json()["id"] and len(outbox_events(app)) == events
    other = revise(client, order["id"], {"priority": 4}, headers)
    assert other.status_code == 409 and other.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(("body", "field"), [
    ({}, "body"),
    ({"title": None}, "body.title"),
    ({"steps": []}, "body.steps"),
    ({"cluster_id": "tangshan"}, "body.cluster_id"),
    ({"max_distance_km": 0}, "body.max_distance_km"),
    ({"due": "2020-01-01T00:00:00Z"}, "body.due"),
    ({"due": "2030-01-01T00:00:00"}, "body.due"),
    ({"priority": 3}, "body"),  # what it is already: nothing to revise
])
def test_bad_revisions_are_422_naming_the_field_and_change_nothing(
        client: TestClient, app: FastAPI, order: dict, body: dict, field: str) -> None:
    events = len(outbox_events(app))
    response = revise(client, order["id"], body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert read(client, order["id"]) == order and len(outbox_events(app)) == events


@pytest.mark.parametrize(("headers", "status"), [(OTHER_BUYER, 404), (SUPPLIER, 403),
                                                 (OPERATOR, 403)])
def test_only_its_buyer_revises_it(client: TestClient, order: dict, headers: dict,
                                   status: int) -> None:
    response = revise(client, order["id"], {"priority": 5}, headers)
    assert response.status_code == status and response.headers["content-type"] == PROBLEM
    assert read(client, order["id"]) == order


def test_once_production_started_it_is_409(client: TestClient, app: FastAPI,
                                           order: dict) -> None:
    produce(app, order, "in_production")
    response = revise(client, order["id"], {"priority": 5})
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
    assert "revised only until production starts" in response.json()["detail"]
