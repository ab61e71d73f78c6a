"""The one place that wires the orders service: settings, routers, migrations, consumer.

Run it with ``uvicorn --factory services.orders.bootstrap:create_app``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.orders.adapters.unit_of_work import SqlAlchemyOrdersUnitOfWork
from services.orders.config import Settings
from services.orders.entrypoints import api, metrics
from services.orders.entrypoints.consumer import make_event_handler
from services.orders.entrypoints.submit_queue import SubmitQueue
from shared.events.topics import CAPACITY, MATCHING
from shared.messaging.kafka import Handler
from shared.service import Runtime, ServiceSpec
from shared.service import create_app as create_service_app

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    spec = ServiceSpec(
        title="sharefab orders",
        description="Buyers submit orders of process steps and follow them to allocation.",
        settings=settings or Settings(),
        migrations_dir=MIGRATIONS_DIR,
        routers=[api.router, api.audit_routes],
        consumer_topics=[CAPACITY, MATCHING],
        wire=_wire,
    )
    app = create_service_app(spec)
    metrics.install(app)
    app.state.submit_queue = SubmitQueue(lambda: app.state.runtime.uow_factory())
    return app


def _wire(runtime: Runtime) -> tuple[Handler | None, list]:  # type: ignore[type-arg]
    def uow_factory() -> SqlAlchemyOrdersUnitOfWork:
        return SqlAlchemyOrdersUnitOfWork(runtime.session_factory, on_commit=runtime.relay.wake)

    runtime.uow_factory = uow_factory
    return make_event_handler(uow_factory), []
