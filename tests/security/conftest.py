"""The three services in one test, each on its own SQLite file, with a small world in them:
firm-s1's factory, machine, window and held reservation; firm-b1's order, its step proposed and
held (not yet accepted); the matcher's view of both and one match run. Rate limiting is off
here (tests/security/test_resource_limits.py turns it on)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.capacity.bootstrap import create_app as capacity_app
from services.capacity.config import Settings as CapacitySettings
from services.matcher.bootstrap import create_app as matcher_app
from services.matcher.config import Settings as MatcherSettings
from services.orders.bootstrap import create_app as orders_app
from services.orders.config import Settings as OrdersSettings
from shared.events.payloads import ClusterCreated
from tests.capacity.integration import flows
from tests.matcher import events as me
from tests.orders.integration import support

CLUSTER = "qhd-auto"


def settings(cls, tmp_path: Path, name: str, **kw):  # type: ignore[no-untyped-def]
    return cls(database_url=f"sqlite:///{tmp_path / name}.db", kafka_consumer_enabled=False,
               outbox_relay_enabled=False, **{"rate_limit": "", **kw})


def make_clients(tmp_path: Path, **kw) -> dict[str, TestClient]:  # type: ignore[no-untyped-def]
    return {
        "orders": TestClient(orders_app(settings(OrdersSettings, tmp_path, "orders", **kw))),
        "capacity": TestClient(capacity_app(settings(CapacitySettings, tmp_path, "capacity",
                                                     **kw))),
        "matcher": TestClient(matcher_app(settings(MatcherSettings, tmp_path, "matcher",
                                                   planner_enabled=False, **kw))),
    }


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    made = make_clients(tmp_path)
    for client in made.values():
        client.__enter__()  # runs the migrations
    try:
        yield made
    finally:
        for client in made.values():
            client.__exit__(None, None, None)


@dataclass
class World:
    factory_id: str
    machine_id: str
    window_id: str
    reservation_id: str
    order_id: str
    step_id: str
    run_id: str
    matcher_step_id: str


# What a buyer must not learn about its supplier before acceptance.
SUPPLIER_SECRETS = ("Haigang", "firm-s1")


@pytest.fixture
def world(clients: dict[str, TestClient]) -> World:
    return build_world(clients)


def build_world(clients: dict[str, TestClient]) -> World:
    capacity, orders, matcher = clients["capacity"], clients["orders"], clients["matcher"]
    flows.create_cluster(capacity)
    site = flows.build_site(capacity)
    support.feed(orders.app, ClusterCreated(cluster_id=CLUSTER, name="Qinhuangdao auto parts",
                                            lat=39.93, lon=119.60, max_distance_km=60))
    order_id, step_id = support.submit_one_step(orders)
    flows.feed(capacity.app, order_id, (step_id, site.window_ids[0], 6.0))
    reservation = capacity.get("/v1/reservations", headers=flows.SUP).json()["items"][0]
    proposed = support.proposal(order_id, step_id, site.window_ids[0])
    support.feed(orders.app, proposed.model_copy(update={"allocations": [
        proposed.allocations[0].model_copy(update={"factory_id": site.factory_id,
                                                   "machine_id": site.machine_id})]}))
    support.feed(orders.app, support.held(order_id, step_id, site.window_ids[0]).model_copy(
        update={"factory_id": site.factory_id, "reservation_id": reservation["id"]}))
    t0 = me.default_t0()
    for payload in me.walkthrough(t0):
        matcher.app.state.event_handler(*me.envelope(payload))
    run = matcher.post("/v1/match-runs", json={"cluster_id": CLUSTER}, headers=flows.OP)
    assert run.status_code == 201, run.text
    return World(site.factory_id, site.machine_id, site.window_ids[0], reservation["id"],
                 order_id, step_id, run.json()["id"], "stp-1")
