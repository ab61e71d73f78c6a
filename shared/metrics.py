"""Prometheus metrics every service exposes at ``GET /metrics``.

Each app has its own ``CollectorRegistry`` (``app.state.metrics.registry``): tests build many apps
in one process, and a service's domain counters are registered on the same registry by its
bootstrap. What is measured here:

- ``sharefab_http_requests_total{method,route,status}`` and
  ``sharefab_http_request_seconds{method,route}``, labelled by the route *template*
  (``/v1/orders/{order_id}``), never the raw path; a path no route matches is ``<unmatched>``;
- read at scrape time from the runtime: ``sharefab_outbox_backlog`` (unpublished outbox rows),
  ``sharefab_consumer_lag{topic,partition}`` (as of the consumer's last poll) and
  ``sharefab_dlq_messages_total`` (messages this process sent to a dead-letter topic).

``/metrics`` needs no token: Prometheus scrapes without one, and what it shows is aggregate
(counts, durations, lags), never an order, firm or price. Keep the port off the public internet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"
# Request latency buckets (seconds): a fast JSON route to a slow synchronous match run.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The app's registry and its HTTP instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sharefab_http_requests", "HTTP requests answered, by route template and status",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "sharefab_http_request_seconds", "HTTP request duration by route template",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RuntimeCollector(Collector):
    """Gauges read from the running service when Prometheus scrapes.

    ``runtime`` is ``shared.service.Runtime`` (duck-typed: ``relay``, ``consumer``, ``retention``,
    ``settings``).
    """

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    def describe(self) -> list[Metric]:
        return []  # values are only known at scrape time

    def collect(self) -> Iterator[Metric]:
        yield self._backlog()
        consumer = self._runtime.consumer
        lag = GaugeMetricFamily("sharefab_consumer_lag",
                                "Records behind the partition's end, as of the last poll",
                                labels=["topic", "partition"])
        for (topic, partition), value in sorted((getattr(consumer, "lag", None) or {}).items()):
            lag.add_metric([topic, str(partition)], value)
        yield lag
        dlq = CounterMetricFamily("sharefab_dlq_messages",
                                  "Messages this process sent to a dead-letter topic")
        dlq.add_metric([], getattr(consumer, "dead_lettered", 0) if consumer else 0)
        yield dlq
        pruned = CounterMetricFamily("sharefab_retention_pruned_rows",
                                     "Rows this process deleted past retention, by table",
                                     labels=["table"])
        for table, rows in sorted(self._runtime.retention.pruned.items()):
            pruned.add_metric([table], rows)
        yield pruned

    def _backlog(self) -> Metric:
        backlog = GaugeMetricFamily("sharefab_outbox_backlog",
                                    "Outbox rows not yet published to the broker")
        try:
            backlog.add_metric([], self._runtime.relay.unpublished_count())
        except Exception:  # the database is down: say so in /readyz, keep /metrics answering
            logger.warning("outbox backlog unreadable", exc_info=True)
            backlog.add_metric([], float("nan"))
        return backlog


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by the template of the route it matched."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(
                time.perf_counter() - started)


def install_metrics(app: FastAPI, runtime: Any) -> ServiceMetrics:
    """Give ``app`` the runtime's registry, the HTTP middleware, the runtime gauges and
    ``GET /metrics``."""
    metrics: ServiceMetrics = runtime.metrics
    metrics.registry.register(RuntimeCollector(runtime))
    app.state.metrics = metrics
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    app.include_router(_metrics_router())
    return metrics


def _metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics (text exposition format)",
                response_class=Response,
                responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                                 "description": "the exposition"}})
    def metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
