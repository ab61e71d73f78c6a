"""The orders HTTP API: submit, read, list, idempotency, validation and access."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.orders.adapters.orm import OrderRow
from shared.events.payloads import ClusterCreated
from tests.helpers import bearer
from tests.orders.integration.support import (
    BUYER,
    CLUSTER,
    OPERATOR,
    OTHER_BUYER,
    SUPPLIER,
    count,
    feed,
    order_body,
    outbox_events,
)

pytestmark = pytest.mark.integration

ORDER_FIELDS = {
    "id", "buyer_firm_id", "cluster_id", "title", "delivery", "due", "min_tier",
    "certifications", "max_distance_km", "priority", "budget", "allowed_factories",
    "blocked_factories", "max_factories", "status", "revision_of", "revised_as", "created_at",
    "updated_at", "steps",
}
STEP_FIELDS = {"id", "key", "process", "material", "quantity", "hours", "after", "status",
               "allocation", "unplaced_reason", "started_at", "completed_at"}


def post(client: TestClient, body: dict[str, Any], headers: dict[str, str] = BUYER,
         key: str | None = None):  # type: ignore[no-untyped-def]
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/v1/orders", json=body, headers={**headers, **extra})


def test_submit_then_read(client: TestClient, app: FastAPI) -> None:
    body = order_body(budget=5000, allowed_factories=["f1"], max_factories=2)
    created = post(client, body)
    assert created.status_code == 201, created.text
    order = created.json()
    assert set(order) == ORDER_FIELDS and set(order["steps"][0]) == STEP_FIELDS
    assert order["id"].startswith("ord_")
    assert created.headers["Location"] == f"/v1/orders/{order['id']}"
    assert (order["buyer_firm_id"], order["cluster_id"], order["status"]) == (
        "firm-b1", CLUSTER, "submitted")
    assert (order["budget"], order["allowed_factories"], order["max_factories"]) == (
        5000.0, ["f1"], 2)
    mill, coat = order["steps"]
    assert (mill["key"], mill["status"], mill["allocation"], mill["unplaced_reason"]) == (
        "mill", "pending", None, None)
    assert (mill["started_at"], mill["completed_at"]) == (None, None)
    assert coat["after"] == ["mill"] and mill["id"] != coat["id"]
    assert client.get(f"/v1/orders/{order['id']}", headers=BUYER).json() == order

    [event] = outbox_events(app)
    assert (event["topic"], event["key"], event["type"]) == ("orders.v1", CLUSTER,
                                                              "order.submitted")
    payload = event["payload"]
    assert payload["order_id"] == order["id"] and payload["buyer_firm_id"] == "firm-b1"
    assert [s["step_id"] for s in payload["steps"]] == [mill["id"], coat["id"]]
    assert payload["steps"][1]["after"] == [mill["id"]]
    assert [payload[k] for k in ("budget", "allowed_factories", "blocked_factories",
                                 "max_factories")] == [5000.0, ["f1"], [], 2]


def test_defaults_apply(client: TestClient) -> None:
    body = order_body()
    for field in ("min_tier", "certifications", "max_distance_km", "priority"):
        del body[field]
    del body["steps"][1]
    order = post(client, body).json()
    assert (order["min_tier"], order["max_distance_km"], order["priority"]) == ("basic", 60, 3)
    assert order["steps"][0]["after"] == [] and order["budget"] is None


def test_same_key_same_body_answers_the_first_order(client: TestClient, app: FastAPI) -> None:
    body = order_body()
    first = post(client, body, key="k-1")
    again = post(client, body, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count(app, "orders") == 1 and len(outbox_events(app)) == 1


def test_concurrent_retries_with_one_key_make_one_order(client: TestClient, app: FastAPI) -> None:
    body = order_body()
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: post(client, body, key="k-race"), range(6)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(app, "orders") == 1 and len(outbox_events(app)) == 1


def test_same_key_other_body_conflicts(client: TestClient, app: FastAPI) -> None:
    post(client, order_body(), key="k-1")
    clash = post(client, order_body(title="Other brackets"), key="k-1")
    assert clash.status_code == 409
    assert clash.headers["content-type"] == "application/problem+json"
    assert count(app, "orders") == 1 and len(outbox_events(app)) == 1


def test_keys_are_per_firm(client: TestClient, app: FastAPI) -> None:
    mine = post(client, order_body(), key="k-1").json()
    theirs = post(client, order_body(), headers=OTHER_BUYER, key="k-1").json()
    assert mine["id"] != theirs["id"] and len(outbox_events(app)) == 2


def _past() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def _steps(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": "s", "process": "welding", "quantity": 1, "hours": 1.0, "after": []}
            | s for s in steps]


INVALID = {
    "unknown process": ({"steps": _steps({"process": "teleport"})}, ["body.steps.0.process"]),
    "duplicate keys": ({"steps": _steps({"key": "a"}, {"key": "a"})}, ["body.steps.1.key"]),
    "unknown after": ({"steps": _steps({"after": ["ghost"]})}, ["body.steps.0.after"]),
    "cycle": ({"steps": _steps({"key": "a", "after": ["b"]}, {"key": "b", "after": ["a"]})},
              ["body.steps.0.after", "body.steps.1.after"]),
    "self cycle": ({"steps": _steps({"after": ["s"]})}, ["body.steps.0.after"]),
    "zero hours": ({"steps": _steps({"hours": 0})}, ["body.steps.0.hours"]),
    "negative hours": ({"steps": _steps({"hours": -2})}, ["body.steps.0.hours"]),
    "zero quantity": ({"steps": _steps({"quantity": 0})}, ["body.steps.0.quantity"]),
    "long cycle": ({"steps": _steps({"key": "a", "after": ["c"]}, {"key": "b", "after": ["a"]},
                                    {"key": "c", "after": ["b"]}, {"key": "d", "after": ["a"]})},
                   ["body.steps.0.after", "body.steps.1.after", "body.steps.2.after"]),
    "no steps": ({"steps": []}, ["body.steps"]),
    "51 steps": ({"steps": _steps(*({"key": f"k{i}"} for i in range(51)))}, ["body.steps"]),
    "due in the past": ({"due": _past()}, ["body.due"]),
    "due without zone": ({"due": "2099-01-01T00:00:00"}, ["body.due"]),
    "lat": ({"delivery": {"lat": 90.5, "lon": 119.5}}, ["body.delivery.lat"]),
    "lon": ({"delivery": {"lat": 39.9, "lon": -181}}, ["body.delivery.lon"]),
    "distance 0": ({"max_distance_km": 0}, ["body.max_distance_km"]),
    "distance 501": ({"max_distance_km": 501}, ["body.max_distance_km"]),
    "priority": ({"priority": 6}, ["body.priority"]),
    "budget": ({"budget": 0}, ["body.budget"]),
    "negative budget": ({"budget": -10}, ["body.budget"]),
    "max factories": ({"max_factories": 0}, ["body.max_factories"]),
    "201 allowed": ({"allowed_factories": [f"f{i}" for i in range(201)]},
                    ["body.allowed_factories"]),
    "201 blocked": ({"blocked_factories": [f"f{i}" for i in range(201)]},
                    ["body.blocked_factories"]),
    "allowed and blocked": ({"allowed_factories": ["f1"], "blocked_factories": ["f1"]},
                            ["body.blocked_factories"]),
    "tier": ({"min_tier": "platinum"}, ["body.min_tier"]),
    "unknown cluster": ({"cluster_id": "nowhere"}, ["body.cluster_id"]),
    "status given": ({"status": "allocated"}, ["body.status"]),
    "buyer given": ({"buyer_firm_id": "firm-x"}, ["body.buyer_firm_id"]),
    "id given": ({"id": "ord_mine"}, ["body.id"]),
    "step status given": ({"steps": _steps({"status": "accepted"})}, ["body.steps.0.status"]),
    "several at once": ({"cluster_id": "nowhere", "due": _past(),
                         "steps": _steps({"key": "a", "after": ["a"]})},
                        ["body.cluster_id", "body.due", "body.steps.0.after"]),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_orders_are_refused_naming_the_fields(
    client: TestClient, app: FastAPI, case: str
) -> None:
    changes, fields = INVALID[case]
    response = post(client, order_body(**changes), key=f"key-{case}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] == "Validation failed"
    assert sorted({e["field"] for e in problem["errors"]}) == sorted(fields)
    assert count(app, "orders") == 0 and count(app, "idempotency_keys") == 0
    assert outbox_events(app) == []


def test_the_limits_themselves_are_accepted(client: TestClient) -> None:
    body = order_body(max_distance_km=500, max_factories=1, budget=0.5,
                      allowed_factories=[f"f{i}" for i in range(200)],
                      blocked_factories=[f"g{i}" for i in range(200)],
                      delivery={"lat": -90, "lon": 180},
                      steps=_steps(*({"key": f"k{i}", "after": [f"k{i - 1}"] if i else []}
                                     for i in range(50))))
    response = post(client, body)
    assert response.status_code == 201, response.text
    assert len(response.json()["steps"]) == 50


def test_a_cluster_outside_the_token_is_refused(client: TestClient, app: FastAPI) -> None:
    response = post(client, order_body(), headers=bearer("firm-b1", "buyer", "other"))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.cluster_id"]
    assert count(app, "orders") == 0 and outbox_events(app) == []


@pytest.mark.parametrize("headers", [SUPPLIER, OPERATOR])
def test_only_buyers_submit(client: TestClient, app: FastAPI, headers: dict[str, str]) -> None:
    response = post(client, order_body(), headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert count(app, "orders") == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"}])
def test_a_token_is_required(client: TestClient, app: FastAPI, headers: dict[str, str]) -> None:
    assert post(client, order_body(), headers=headers).status_code == 401
    assert client.get("/v1/orders", headers=headers).status_code == 401
    assert count(app, "orders") == 0


def test_other_buyers_see_404_and_the_operator_sees_it(client: TestClient) -> None:
    order = post(client, order_body()).json()
    missing = client.get(f"/v1/orders/{order['id']}", headers=OTHER_BUYER)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/orders/ord_nope", headers=BUYER).status_code == 404
    assert client.get(f"/v1/orders/{order['id']}", headers=OPERATOR).json()["id"] == order["id"]
    assert client.get(f"/v1/orders/{order['id']}", headers=SUPPLIER).status_code == 403
    assert client.get("/v1/orders", headers=SUPPLIER).status_code == 403


def test_list_pages_newest_first_with_a_cursor(client: TestClient) -> None:
    made = [post(client, order_body(title=f"order {i}")).json()["id"] for i in range(5)]
    post(client, order_body(), headers=OTHER_BUYER)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/orders", params=params, headers=BUYER).json()
        seen += [o["id"] for o in page["items"]]
        assert len(page["items"]) <= 2
        if not (cursor := page["next_cursor"]):
            break
    assert seen == made[::-1]
    everything = client.get("/v1/orders", headers=OPERATOR).json()
    assert len(everything["items"]) == 6 and everything["next_cursor"] is None


def test_list_filters(client: TestClient, app: FastAPI) -> None:
    post(client, order_body())
    mine = client.get("/v1/orders", params={"status": "submitted", "cluster_id": CLUSTER},
                      headers=BUYER).json()
    assert len(mine["items"]) == 1
    feed(app, ClusterCreated(cluster_id="elsewhere", name="Tangshan", lat=39.6, lon=118.2,
                             max_distance_km=60))
    for params in ({"status": "allocated"}, {"cluster_id": "elsewhere"}):
        assert client.get("/v1/orders", params=params, headers=BUYER).json()["items"] == []


def test_list_filters_by_creation_time(client: TestClient, app: FastAPI) -> None:
    ids = [post(client, order_body(title=f"o{i}")).json()["id"] for i in range(3)]
    base = datetime(2026, 11, 1, tzinfo=UTC)
    with app.state.runtime.engine.begin() as conn:  # spread the creation times over 3 days
        for day, order_id in enumerate(ids):
            conn.execute(sa.update(OrderRow).where(OrderRow.id == order_id)
                         .values(created_at=base + timedelta(days=day)))

    def listed(**params: str) -> list[str]:
        page = client.get("/v1/orders", params=params, headers=BUYER)
        assert page.status_code == 200, page.text
        return [o["id"] for o in page.json()["items"]]

    assert listed(created_from="2026-11-02T00:00:00Z") == [ids[2], ids[1]]
    assert listed(created_to="2026-11-02T00:00:00+00:00") == [ids[0]]  # the end is exclusive
    assert listed(created_from="2026-11-01T12:00:00Z", created_to="2026-11-03T00:00:00Z") == [
        ids[1]]
    assert listed(created_from="2026-11-02T08:00:00+08:00") == [ids[2], ids[1]]  # zones count
    assert listed(created_from="2026-11-02T00:00:00") == [ids[2], ids[1]]  # no zone: UTC
    assert listed(created_from="2026-11-02T00:00:00Z", created_to="2026-11-02T00:00:00Z") == []
    page = client.get("/v1/orders", params={"created_from": "2026-11-01T00:00:00Z", "limit": 2},
                      headers=BUYER).json()
    rest = client.get("/v1/orders", params={"created_from": "2026-11-01T00:00:00Z", "limit": 2,
                                            "cursor": page["next_cursor"]}, headers=BUYER).json()
    assert [o["id"] for o in page["items"] + rest["items"]] == ids[::-1]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 201}, "query.limit"), ({"limit": 0}, "query.limit"),
    ({"status": "lost"}, "query.status"), ({"cursor": "bm90LWEtY3Vyc29y"}, "query.cursor"),
    ({"created_from": "yesterday"}, "query.created_from"),
    ({"created_to": "2026-13-01T00:00:00Z"}, "query.created_to"),
    ({"created_from": "2026-11-02T00:00:00Z", "created_to": "2026-11-01T00:00:00Z"},
     "query.created_from"),
    ({"cluster_id": "qhd-autp"}, "query.cluster_id"),  # a typo is not a cluster without orders
])
def test_list_refuses_bad_parameters(client: TestClient, params: dict[str, Any],
                                     field: str) -> None:
    response = client.get("/v1/orders", params=params, headers=BUYER)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
