"""The audit log of orders: every cancellation leaves one row (who, role, when, correlation id)
in the cancellation's own transaction; the operator reads it through GET /v1/audit."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.audit import SqlAuditLog
from tests.orders.integration.support import (
    BUYER,
    OPERATOR,
    OTHER_BUYER,
    count,
    order_body,
    produce,
)

pytestmark = pytest.mark.integration


def _order(client: TestClient) -> str:
    response = client.post("/v1/orders", json=order_body(), headers=BUYER)
    assert response.status_code == 201, response.text
    return response.json()["id"]  # type: ignore[no-any-return]


def test_cancellations_by_the_buyer_and_the_operator_are_audited(client: TestClient) -> None:
    mine, theirs = _order(client), _order(client)
    assert client.post(f"/v1/orders/{mine}/cancel", json={"reason": "plans changed"},
                       headers=BUYER | {"X-Correlation-ID": "cancel-1"}).status_code == 200
    assert client.post(f"/v1/orders/{theirs}/cancel", headers=OPERATOR).status_code == 200
    items = client.get("/v1/audit", headers=OPERATOR).json()["items"]
    assert [(i["action"], i["actor"], i["role"], i["object_id"]) for i in items] == [
        ("order.cancelled", "platform", "operator", theirs),
        ("order.cancelled", "firm-b1", "buyer", mine)]
    assert items[1]["detail"] == {"reason": "plans changed", "buyer_firm_id": "firm-b1"}
    assert items[1]["correlation_id"] == "cancel-1"
    only_buyer = client.get("/v1/audit", params={"actor": "firm-b1"}, headers=OPERATOR).json()
    assert [i["object_id"] for i in only_buyer["items"]] == [mine]


def test_refused_cancellations_leave_no_row(app: FastAPI, client: TestClient) -> None:
    order_id = _order(client)
    assert client.post(f"/v1/orders/{order_id}/cancel", headers=OTHER_BUYER).status_code == 404
    produce(app, client.get(f"/v1/orders/{order_id}", headers=BUYER).json(), "in_production")
    assert client.post(f"/v1/orders/{order_id}/cancel", headers=BUYER).status_code == 409
    assert count(app, "audit_log") == 0


def test_no_cancellation_without_its_row(app: FastAPI, client: TestClient,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    order_id = _order(client)
    events_before = count(app, "outbox")
    monkeypatch.setattr(SqlAuditLog, "add", lambda self, entry: (_ for _ in ()).throw(
        RuntimeError("audit store unavailable")))
    with pytest.raises(RuntimeError):
        client.post(f"/v1/orders/{order_id}/cancel", headers=BUYER)
    monkeypatch.undo()
    assert client.get(f"/v1/orders/{order_id}", headers=BUYER).json()["status"] == "submitted"
    assert count(app, "outbox") == events_before


def test_buyers_cannot_read_the_audit_log(client: TestClient) -> None:
    response = client.get("/v1/audit", headers=BUYER)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_a_cursor_beyond_any_entry_id_is_a_422_not_a_database_error(
        client: TestClient) -> None:
    for cursor in ("9223372036854775808", "99999999999999999999"):  # 2**63 and 20 nines
        response = client.get("/v1/audit", params={"cursor": cursor}, headers=OPERATOR)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "query.cursor"
    largest = client.get("/v1/audit", params={"cursor": "9223372036854775807"},
                         headers=OPERATOR)
    assert largest.status_code == 200 and largest.json()["items"] == []
