"""GET /v1/orders/{id}/timeline: every event that touched the order, desensitised, in order."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.events.payloads import (
    ReservationDeclined,
    ReservationExpired,
    ReservationReleased,
    StepUnplaced,
    WindowClosed,
)
from tests.orders.integration.support import (
    BUYER,
    CLUSTER,
    OPERATOR,
    OTHER_BUYER,
    SUPPLIER,
    accepted,
    feed,
    held,
    outbox_events,
    proposal,
    submit_one_step,
    timeline,
)

pytestmark = pytest.mark.integration

SECRETS = ("F1", "W1", "W2", "M1", "R1", "Haigang")


def released(order_id: str, step_id: str) -> ReservationReleased:
    return ReservationReleased(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                               window_id="W2", hours=6.0, reservation_id="R1", factory_id="F1",
                               reason="order_cancelled")


def test_the_saga_in_order_with_the_factory_only_from_acceptance(
    client: TestClient, app: FastAPI
) -> None:
    order_id, step_id = submit_one_step(client)
    ref = {"cluster_id": CLUSTER, "order_id": order_id, "step_id": step_id, "hours": 6.0}
    fed = [
        feed(app, StepUnplaced(match_run_id="run-0", **{k: ref[k] for k in ref if k != "hours"},
                               reason="capacity_taken", detail="3 steps on F1's windows")),
        feed(app, proposal(order_id, step_id)),
        feed(app, held(order_id, step_id)),
        feed(app, ReservationDeclined(**ref, window_id="W1", reservation_id="R1",
                                      factory_id="F1", reason="Haigang's mill is down")),
        feed(app, proposal(order_id, step_id, "W2")),
        feed(app, held(order_id, step_id, "W2")),
        feed(app, ReservationExpired(**ref, window_id="W2", reservation_id="R1",
                                     factory_id="F1")),
        feed(app, proposal(order_id, step_id)),
        feed(app, held(order_id, step_id)),
        feed(app, accepted(order_id, step_id)),
    ]
    items = timeline(client, order_id)
    submitted = outbox_events(app)[0]
    assert [i["event_id"] for i in items] == [submitted["event_id"]] + [
        str(e.event_id) for e in fed]
    assert [i["type"] for i in items] == [
        "order.submitted", "step.unplaced", "allocation.proposed", "reservation.held",
        "reservation.declined", "allocation.proposed", "reservation.held", "reservation.expired",
        "allocation.proposed", "reservation.held", "reservation.accepted"]
    s = step_id
    assert [i["step_id"] for i in items] == [None, s, None, s, s, None, s, s, None, s, s]
    assert set(items[0]) == {"event_id", "type", "occurred_at", "step_id", "summary"}
    assert items[0]["occurred_at"] == submitted["occurred_at"]
    assert items[1]["summary"] == {"reason": "capacity_taken"}
    assert items[3]["summary"]["price"] == 1086.0
    for item in items[:-1]:
        assert not any(s in str(item["summary"]) for s in SECRETS), item
    assert items[-1]["summary"] == {"factory_id": "F1", "factory_name": "Haigang Precision",
                                    "window_id": "W1", "hours": 6.0, "price": 1086.0}
    assert timeline(client, order_id, headers=OPERATOR) == items


def test_cancel_then_releases_and_late_events(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    feed(app, proposal(order_id, step_id))
    client.post(f"/v1/orders/{order_id}/cancel", headers=BUYER)
    feed(app, held(order_id, step_id))  # capacity held before it read the cancellation
    feed(app, released(order_id, step_id))
    items = timeline(client, order_id)
    assert [i["type"] for i in items] == ["order.submitted", "allocation.proposed",
                                          "order.cancelled", "reservation.held",
                                          "reservation.released"]
    assert items[3]["summary"]["ignored"] == {step_id: "order is cancelled"}
    assert items[4]["summary"] == {"hours": 6.0, "reason": "order_cancelled"}
    order = client.get(f"/v1/orders/{order_id}", headers=BUYER).json()
    assert order["status"] == "cancelled" and order["steps"][0]["status"] == "cancelled"


def test_redelivered_and_foreign_events_add_nothing(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    event = proposal(order_id, step_id)
    envelope = feed(app, event)
    feed(app, event, envelope)
    feed(app, WindowClosed(window_id="W1", machine_id="M1", factory_id="F1", cluster_id=CLUSTER))
    feed(app, proposal("ord_elsewhere", "stp_x"))
    assert [i["type"] for i in timeline(client, order_id)] == ["order.submitted",
                                                               "allocation.proposed"]


def test_pages_follow_a_cursor(client: TestClient, app: FastAPI) -> None:
    order_id, step_id = submit_one_step(client)
    for window in ("W1", "W2", "W3", "W4"):
        feed(app, proposal(order_id, step_id, window))
        feed(app, ReservationExpired(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                     window_id=window, hours=6.0, reservation_id="R1",
                                     factory_id="F1"))
    everything = timeline(client, order_id)
    assert len(everything) == 9
    seen, cursor = [], None
    for _ in range(9):
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/orders/{order_id}/timeline", params=params, headers=BUYER).json()
        seen += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == everything


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "query.limit"), ({"limit": 501}, "query.limit"),
    ({"cursor": "bm90LWEtY3Vyc29y"}, "query.cursor")])
def test_bad_paging_is_refused(client: TestClient, params: dict[str, object],
                               field: str) -> None:
    order_id, _ = submit_one_step(client)
    response = client.get(f"/v1/orders/{order_id}/timeline", params=params, headers=BUYER)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_an_orders_list_cursor_is_no_timeline_cursor(client: TestClient) -> None:
    order_id, _ = submit_one_step(client)
    submit_one_step(client)
    cursor = client.get("/v1/orders", params={"limit": 1}, headers=BUYER).json()["next_cursor"]
    response = client.get(f"/v1/orders/{order_id}/timeline", params={"cursor": cursor},
                          headers=BUYER)
    assert response.status_code == 422


@pytest.mark.parametrize(("headers", "status"), [
    (OTHER_BUYER, 404), (SUPPLIER, 403), ({}, 401), ({"Authorization": "Bearer nope"}, 401)])
def test_only_the_owner_or_the_operator_reads_it(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    order_id, _ = submit_one_step(client)
    response = client.get(f"/v1/orders/{order_id}/timeline", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/orders/ord_nope/timeline", headers=BUYER).status_code == 404
