"""order.cancelled (orders.v1): release held and accepted reservations; refuse later proposals."""

from __future__ import annotations

from functools import partial

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.capacity.bootstrap import create_app
from services.capacity.config import Settings
from shared.events.topics import MATCHING, ORDERS
from tests.capacity.integration.flows import (
    PROBLEM,
    SUP,
    Site,
    build_site,
    cancel,
    count,
    create_cluster,
    events,
    feed,
    race,
    window,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(client: TestClient) -> Site:
    create_cluster(client)
    return build_site(client, windows=2, hours=20.0)


def _by_step(client: TestClient) -> dict[str, dict]:
    return {r["step_id"]: r for r in client.get("/v1/reservations", headers=SUP).json()["items"]}


def test_held_and_accepted_reservations_are_released(app: FastAPI, client: TestClient,
                                                     site: Site) -> None:
    w0, w1 = site.window_ids
    feed(app, "ord-1", ("stp-1", w0, 6.0), ("stp-2", w1, 4.0))
    feed(app, "ord-2", ("stp-9", w0, 3.0))
    accepted = _by_step(client)["stp-1"]["id"]
    assert client.post(f"/v1/reservations/{accepted}/accept", headers=SUP).status_code == 200

    cause = cancel(app, "ord-1", "stp-1", "stp-2")

    after = _by_step(client)
    assert {s: r["status"] for s, r in after.items()} == {
        "stp-1": "released", "stp-2": "released", "stp-9": "held"}
    # the supplier reads why its hours came back, and when
    assert {s: r["reason"] for s, r in after.items()} == {
        "stp-1": "order_cancelled", "stp-2": "order_cancelled", "stp-9": None}
    assert after["stp-1"]["updated_at"] > after["stp-1"]["created_at"]
    assert after["stp-9"]["updated_at"] is None
    w = window(client, site, 0)
    assert (w["held_hours"], w["accepted_hours"], w["free_hours"]) == (3.0, 0.0, 17.0)
    assert window(client, site, 1)["free_hours"] == 20.0
    released = events(app, "reservation.released")
    assert sorted((e.payload["step_id"], e.payload["hours"], e.payload["reason"])
                  for e in released) == [("stp-1", 6.0, "order_cancelled"),
                                         ("stp-2", 4.0, "order_cancelled")]
    assert all(e.correlation_id == "ord-1" and e.causation_id == str(cause.event_id)
               and e.key == "qhd-auto" and e.payload["factory_id"] == site.factory_id
               for e in released)
    # a released reservation is final
    response = client.post(f"/v1/reservations/{accepted}/accept", headers=SUP)
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM


def test_the_same_cancellation_twice_changes_nothing(app: FastAPI, client: TestClient,
                                                     site: Site) -> None:
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    envelope = cancel(app, "ord-1", "stp-1")
    payload = events(app, "reservation.released")[0]
    app.state.event_handler(envelope, envelope.parsed())
    assert len(events(app, "reservation.released")) == 1
    assert payload.payload["step_id"] == "stp-1"
    assert count(app, "inbox") == 2  # the proposal and the cancellation, once each
    # another cancellation event of the same order finds nothing left to release
    cancel(app, "ord-1", "stp-1")
    assert len(events(app, "reservation.released")) == 1


def test_a_proposal_after_the_cancellation_is_rejected(app: FastAPI, client: TestClient,
                                                       site: Site) -> None:
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    cancel(app, "ord-1", "stp-1", "stp-2")
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0), ("stp-2", site.window_ids[1], 2.0))
    rejected = events(app, "reservation.rejected")
    assert [(e.payload["step_id"], e.payload["reason"]) for e in rejected] == [
        ("stp-1", "order_cancelled"), ("stp-2", "order_cancelled")]
    assert count(app, "reservations") == 1
    assert window(client, site, 0)["held_hours"] == 0.0


def test_a_cancellation_before_any_proposal_is_remembered(app: FastAPI, client: TestClient,
                                                          site: Site) -> None:
    cancel(app, "ord-7", "stp-7")
    assert events(app, "reservation.released") == []
    feed(app, "ord-7", ("stp-7", site.window_ids[0], 6.0))
    [rejected] = events(app, "reservation.rejected")
    assert rejected.payload["reason"] == "order_cancelled"
    assert count(app, "reservations") == 0
    feed(app, "ord-8", ("stp-8", site.window_ids[0], 6.0))  # other orders are unaffected
    assert len(events(app, "reservation.held")) == 1


def test_the_consumer_listens_to_orders_and_matching(database_url: str) -> None:
    settings = Settings(database_url=database_url, outbox_relay_enabled=False)
    app = create_app(settings)
    assert sorted(app.state.runtime.consumer._topics) == sorted([MATCHING, ORDERS])  # not started


def test_racing_proposals_and_cancellations_leave_nothing_held(app: FastAPI, client: TestClient,
                                                               site: Site) -> None:
    """16 orders, each proposed and cancelled at the same moment from two threads (each order
    was heard of before, through a proposal capacity refused)."""
    orders = [f"ord-{n}" for n in range(16)]
    for order_id in orders:
        feed(app, order_id, (f"stp-{order_id}", "win_nope", 1.0))
    def propose(order_id: str) -> None:
        feed(app, order_id, (f"stp-{order_id}", site.window_ids[0], 1.0))

    def withdraw(order_id: str) -> None:
        cancel(app, order_id, f"stp-{order_id}")

    errors = race(partial(action, o) for o in orders for action in (propose, withdraw))
    assert errors == []
    assert {r["status"] for r in _by_step(client).values()} <= {"released"}
    released = {e.correlation_id for e in events(app, "reservation.released")}
    refused = {e.correlation_id for e in events(app, "reservation.rejected")
               if e.payload["reason"] == "order_cancelled"}
    assert len(events(app, "reservation.rejected")) == len(orders) + len(refused)
    assert released | refused == set(orders) and not released & refused
    assert window(client, site, 0)["held_hours"] == 0.0
