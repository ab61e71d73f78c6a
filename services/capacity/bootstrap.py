"""Wires the capacity service: ``uvicorn --factory services.capacity.bootstrap:create_app``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.capacity.adapters.unit_of_work import SqlAlchemyCapacityUnitOfWork
from services.capacity.config import Settings
from services.capacity.entrypoints import api
from services.capacity.entrypoints.consumer import make_event_handler
from services.capacity.entrypoints.expiry import HoldExpiry
from shared.events.topics import MATCHING, ORDERS
from shared.messaging.kafka import Handler
from shared.service import Runtime, ServiceSpec
from shared.service import create_app as create_service_app

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

DESCRIPTION = """Clusters, factories, machines and their capacity windows; holds the hours the
matcher proposes (all steps of an order, or none) and lets suppliers accept or decline them.
Unanswered holds expire; a cancelled order's reservations are released. Buyers see aggregated
availability only (per process × tier × ISO week), never a factory."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def wire(runtime: Runtime) -> tuple[Handler | None, list]:
        def uow_factory() -> SqlAlchemyCapacityUnitOfWork:
            return SqlAlchemyCapacityUnitOfWork(runtime.session_factory,
                                                on_commit=runtime.relay.wake)

        runtime.uow_factory = uow_factory
        hold_ttl = timedelta(hours=settings.hold_ttl_hours)
        expiry = HoldExpiry(uow_factory=uow_factory, interval_s=settings.expiry_interval_s)
        return make_event_handler(uow_factory, hold_ttl=hold_ttl), [expiry]

    app = create_service_app(ServiceSpec(
        title="sharefab capacity",
        description=DESCRIPTION,
        settings=settings,
        migrations_dir=MIGRATIONS_DIR,
        routers=[api.router, api.audit_routes],
        consumer_topics=[MATCHING, ORDERS],
        wire=wire,
    ))
    api.install_error_handlers(app)
    return app
