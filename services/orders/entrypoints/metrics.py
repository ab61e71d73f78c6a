"""The orders service's domain metric, on the app's Prometheus registry (see
``shared.metrics``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry, Counter


class OrdersMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.submitted = Counter(
            "sharefab_orders_submitted",
            "Orders accepted by the API (one by one or in batches; idempotent replays not "
            "counted)", registry=registry)


def install(app) -> None:  # type: ignore[no-untyped-def]
    app.state.orders_metrics = OrdersMetrics(app.state.metrics.registry)


async def get_metrics(request: Request) -> OrdersMetrics:
    return request.app.state.orders_metrics


MetricsDep = Annotated[OrdersMetrics, Depends(get_metrics)]
