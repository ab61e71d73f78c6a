"""DESIGN §5 over HTTP only, against the broker and the three services as real processes."""

from __future__ import annotations

import time

import httpx
import pytest

from shared.events.topics import CAPACITY, ORDERS
from shared.settings import DEFAULT_JWT_SECRET
from sharefab_cli.main import demo_tokens
from sharefab_cli.stack import SERVICES
from sharefab_cli.walkthrough import Walkthrough
from tests.helpers import sample, scrape

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_health_and_readiness_of_every_service(endpoints):
    for service in SERVICES:
        base = getattr(endpoints, service)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["broker"] == "ok"
        assert ready.json()["checks"]["database"] == "ok"


@pytest.mark.parametrize("path", ["orders:/v1/orders", "capacity:/v1/reservations",
                                  "matcher:/v1/match-runs"])
def test_endpoints_require_a_token(endpoints, path):
    service, route = path.split(":", 1)
    response = httpx.get(getattr(endpoints, service) + route)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_one_order_travels_end_to_end(endpoints, tokens):
    walk = Walkthrough(endpoints, tokens, cluster_id="qhd-auto")
    walk.setup(window_hours=20.0)
    buyer = walk.auth["BUY"]

    order = walk.post_order(hours=6.0)
    assert order["status"] == "submitted"
    assert order["steps"][0]["status"] == "pending" and order["steps"][0]["allocation"] is None

    reservation = walk.held_reservation(order["id"])
    assert reservation["window_id"] == walk.window_id
    assert reservation["step_id"] == order["steps"][0]["id"]
    assert reservation["hours"] == 6.0 and reservation["price"] > 0

    # Capacity holds the hours: the window now offers 14 of its 20 h.
    windows = httpx.get(f"{endpoints.capacity}/v1/machines/{walk.machine_id}/windows",
                        headers=walk.auth["SUP"]).json()["items"]
    assert [w["free_hours"] for w in windows if w["id"] == walk.window_id] == [14.0]

    # Before acceptance the buyer sees price and status, not the factory.
    seen = httpx.get(f"{endpoints.orders}/v1/orders/{order['id']}", headers=buyer).json()
    step = seen["steps"][0]
    assert step["status"] in {"proposed", "held"}
    assert step["allocation"]["price"] == reservation["price"]
    assert step["allocation"]["factory_id"] is None
    assert "Haigang" not in str(seen)

    accepted = httpx.post(f"{endpoints.capacity}/v1/reservations/{reservation['id']}/accept",
                          headers=walk.auth["SUP"])
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"

    result_order = walk.wait_allocated(order["id"])
    step = result_order["steps"][0]
    assert result_order["status"] == "allocated"
    assert step["status"] == "accepted"
    assert step["allocation"] == {
        "factory_id": walk.factory_id, "factory_name": "Haigang Precision",
        "window_id": walk.window_id, "hours": 6.0, "price": reservation["price"],
    }


def test_walkthrough_run_in_a_second_cluster(endpoints):
    """The path `sharefab walkthrough` and the benchmark use: post, hold, accept, allocated."""
    walk = Walkthrough(endpoints, demo_tokens(DEFAULT_JWT_SECRET, "tangshan-steel"),
                       cluster_id="tangshan-steel")
    walk.setup(window_hours=10.0)
    result = walk.run()
    assert result.final_order["status"] == "allocated"
    assert result.final_order["steps"][0]["allocation"]["factory_id"] == walk.factory_id
    assert result.order_to_held_s > 0


def test_metrics_and_stats_after_the_walkthrough(endpoints, tokens):
    """Runs after the orders above: each service's /metrics (no token) shows its consumer's
    partitions and an empty outbox; orders and the matcher count what happened; /v1/stats
    agrees."""
    deadline = time.monotonic() + 30
    while True:
        got = {s: scrape(httpx.get(f"{getattr(endpoints, s)}/metrics").text) for s in SERVICES}
        lags = {s: {k: v for k, v in g.items() if k[0] == "sharefab_consumer_lag"}
                for s, g in got.items()}
        settled = all(lags.values()) and all(
            sample(g, "sharefab_outbox_backlog") == 0 for g in got.values())
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert settled, lags
    assert {dict(labels)["topic"] for _, labels in lags["matcher"]} >= {ORDERS, CAPACITY}
    assert sample(got["orders"], "sharefab_orders_submitted_total") >= 2
    assert sample(got["matcher"], "sharefab_steps_placed_total") >= 2
    assert sample(got["matcher"], "sharefab_order_to_proposal_seconds_count") >= 2
    assert sample(got["orders"], "sharefab_http_requests_total", method="POST",
                  route="/v1/orders", status="201") >= 2

    operator = {"Authorization": f"Bearer {tokens['OP']}"}
    stats = httpx.get(f"{endpoints.matcher}/v1/stats", params={"window": "15m"},
                      headers=operator).json()
    assert stats["orders_submitted"] >= 2 and stats["steps_placed"] >= 2
    assert stats["latency"]["count"] >= 2 and stats["latency"]["p50_s"] > 0
