"""shared.metrics: per-app registries, HTTP metrics by route template, runtime gauges."""

from __future__ import annotations

import math
from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.metrics import ServiceMetrics, install_metrics
from tests.helpers import sample, scrape


class Relay:
    def __init__(self, backlog: int | None) -> None:
        self.backlog = backlog

    def unpublished_count(self) -> int:
        if self.backlog is None:
            raise ConnectionError("database down")
        return self.backlog


def make_app(*, backlog: int | None = 0, consumer: object = None,
             pruned: dict[str, int] | None = None) -> FastAPI:
    app = FastAPI()
    runtime = SimpleNamespace(metrics=ServiceMetrics(), relay=Relay(backlog), consumer=consumer,
                              retention=SimpleNamespace(pruned=pruned or {}))
    install_metrics(app, runtime)

    @app.get("/v1/things/{thing_id}")
    def get_thing(thing_id: str) -> dict[str, str]:
        if thing_id == "boom":
            raise RuntimeError("boom")
        return {"id": thing_id}

    return app


def metrics_of(client: TestClient) -> dict:  # type: ignore[type-arg]
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return scrape(response.text)


def test_requests_are_counted_by_route_template_and_status() -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        for thing in ("a", "b", "c"):
            client.get(f"/v1/things/{thing}")
        assert client.get("/v1/things/boom").status_code == 500
        client.get("/no/such/path")
        got = metrics_of(client)
    route = "/v1/things/{thing_id}"
    assert sample(got, "sharefab_http_requests_total", method="GET", route=route,
                  status="200") == 3
    assert sample(got, "sharefab_http_requests_total", method="GET", route=route,
                  status="500") == 1
    assert sample(got, "sharefab_http_requests_total", method="GET", route="<unmatched>",
                  status="404") == 1
    assert sample(got, "sharefab_http_request_seconds_count", method="GET", route=route) == 4
    assert not any("/v1/things/a" in str(labels) for _, labels in got)


def test_every_app_has_its_own_registry() -> None:
    with TestClient(make_app()) as one, TestClient(make_app()) as two:
        one.get("/v1/things/x")
        one.get("/v1/things/y")
        two.get("/v1/things/x")
        route = "/v1/things/{thing_id}"
        assert sample(metrics_of(one), "sharefab_http_requests_total", method="GET",
                      route=route, status="200") == 2
        assert sample(metrics_of(two), "sharefab_http_requests_total", method="GET",
                      route=route, status="200") == 1


def test_runtime_gauges_come_from_the_relay_the_consumer_and_retention() -> None:
    consumer = SimpleNamespace(lag={("orders", 0): 7, ("orders", 1): 0}, dead_lettered=2)
    pruned = {"outbox": 40, "inbox": 3}
    with TestClient(make_app(backlog=5, consumer=consumer, pruned=pruned)) as client:
        got = metrics_of(client)
    assert sample(got, "sharefab_retention_pruned_rows_total", table="outbox") == 40
    assert sample(got, "sharefab_retention_pruned_rows_total", table="inbox") == 3
    assert sample(got, "sharefab_outbox_backlog") == 5
    assert sample(got, "sharefab_consumer_lag", topic="orders", partition="0") == 7
    assert sample(got, "sharefab_consumer_lag", topic="orders", partition="1") == 0
    assert sample(got, "sharefab_dlq_messages_total") == 2


def test_without_consumer_or_database_the_page_still_answers() -> None:
    with TestClient(make_app(backlog=None)) as client:
        got = metrics_of(client)
    assert math.isnan(sample(got, "sharefab_outbox_backlog"))
    assert sample(got, "sharefab_dlq_messages_total") == 0
    assert not any(name == "sharefab_consumer_lag" for name, _ in got)
