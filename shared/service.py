"""The runtime every service shares: database, outbox relay, consumer, health, errors, auth.

A service's ``bootstrap.py`` passes its routers, migrations and event handler to ``create_app``;
nothing else starts threads or opens connections.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from shared.correlation import CorrelationMiddleware
from shared.db import make_engine, make_session_factory, ping, run_migrations
from shared.heap import freeze_startup_heap
from shared.limits import install_limits
from shared.logs import configure_logging
from shared.messaging.kafka import EventConsumer, Handler
from shared.messaging.outbox import OutboxRelay
from shared.messaging.producer import Producer, broker_reachable
from shared.messaging.retention import RetentionWorker
from shared.metrics import ServiceMetrics, install_metrics
from shared.openapi_problems import document_problems
from shared.problems import install_problem_handlers
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)



@dataclass
class Runtime:
    """What a running service holds; ``app.state.runtime``."""

    settings: ServiceSettings
    engine: Engine
    session_factory: sessionmaker
    producer: Producer
    relay: OutboxRelay
    retention: RetentionWorker
    consumer: EventConsumer | None = None
    background: list = field(default_factory=list)  # objects with start()/stop()
    # Set by the service's wire(): makes the unit of work routes and handlers use.
    uow_factory: Callable[[], Any] | None = None
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)  # wire() adds its own

    @classmethod
    def build(cls, settings: ServiceSettings) -> Runtime:
        engine = make_engine(settings.database_url,
                             sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s)
        producer = Producer(settings)
        relay = OutboxRelay(
            engine=engine,
            publish_batch=producer.send_batch,
            poll_interval_s=settings.outbox_poll_interval_s,
        )
        retention = RetentionWorker(engine=engine, outbox_days=settings.outbox_retention_days,
                                    inbox_days=settings.inbox_retention_days,
                                    interval_s=settings.retention_interval_s)
        return cls(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                   producer=producer, relay=relay, retention=retention)

    def start(self) -> None:
        if self.settings.outbox_relay_enabled:
            self.relay.start()
        if self.consumer is not None:
            self.consumer.start()
        if self.settings.outbox_retention_days or self.settings.inbox_retention_days:
            self.retention.start()
        for task in self.background:
            task.start()

    def stop(self) -> None:
        for task in reversed(self.background):
            task.stop()
        self.retention.stop()
        if self.consumer is not None:
            self.consumer.stop()
        self.relay.stop()
        self.producer.close()
        self.engine.dispose()


@dataclass
class ServiceSpec:
    """What a service contributes to ``create_app``."""

    title: str
    settings: ServiceSettings
    migrations_dir: Path
    routers: list[APIRouter]
    consumer_topics: list[str] = field(default_factory=list)
    # Builds the event handler and background tasks once the runtime exists.
    wire: Callable[[Runtime], tuple[Handler | None, list]] | None = None
    description: str = ""
    # Extra keyword arguments of the EventConsumer (offset_store, replay_order, on_revoked),
    # built once wire() has run.
    consumer_options: Callable[[Runtime], dict[str, Any]] | None = None


def create_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    configure_logging(service=settings.service_name, level=settings.log_level,
                      json_lines=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        run_migrations(settings.database_url, spec.migrations_dir)
        runtime: Runtime = app.state.runtime
        runtime.start()
        if settings.gc_freeze:
            freeze_startup_heap()  # full collections skip what lives as long as the process
        logger.info("%s started", settings.service_name)
        try:
            yield
        finally:
            runtime.stop()

    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(title=spec.title, description=spec.description, version="0.1.0",
                  lifespan=lifespan, telemetry=None if settings.otel_telemetry else off)
    app.state.settings = settings
    runtime = Runtime.build(settings)
    app.state.event_handler = None
    if spec.wire is not None:
        handler, background = spec.wire(runtime)
        app.state.event_handler = handler  # tests feed events through it directly
        runtime.background.extend(background)
        if handler is not None and spec.consumer_topics and settings.kafka_consumer_enabled:
            extra = spec.consumer_options(runtime) if spec.consumer_options else {}
            runtime.consumer = EventConsumer(
                settings, group_id=settings.service_name, topics=spec.consumer_topics,
                handler=handler, producer=runtime.producer, **extra,
            )
    app.state.runtime = runtime
    install_problem_handlers(app)
    install_limits(app, settings)
    document_problems(app)
    app.add_middleware(CorrelationMiddleware)
    install_metrics(app, runtime)
    app.include_router(_health_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Database and broker reachable, consumer caught up",
                responses={503: {"description": "not ready"}})
    def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            ping(runtime.engine)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["broker"] = (
            "ok" if broker_reachable(runtime.settings.bootstrap_servers) else "unreachable"
        )
        if runtime.settings.outbox_relay_enabled:
            checks["outbox_relay"] = "ok" if runtime.relay.alive else "stopped"
        if runtime.consumer is not None:
            # joining: its first partitions are not assigned and caught up yet, so what other
            # services published (a new cluster, say) is not known here yet
            consumer = runtime.consumer
            checks["consumer"] = ("stopped" if not consumer.alive
                                  else "ok" if consumer.joined else "joining")
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    return router
