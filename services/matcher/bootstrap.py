"""Wires the matcher: settings → runtime → unit of work, event handler, planning loop, routes.

Run it with ``uvicorn --factory services.matcher.bootstrap:create_app``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.matcher.adapters.unit_of_work import MatcherUnitOfWork
from services.matcher.config import Settings
from services.matcher.entrypoints import api
from services.matcher.entrypoints.consumer import make_event_handler
from services.matcher.entrypoints.planner import PlanningLoop
from services.matcher.service_layer.planning import PlanningOptions
from shared.events.topics import CAPACITY, ORDERS
from shared.service import Runtime, ServiceSpec
from shared.service import create_app as create_service_app

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def wire(runtime: Runtime):  # type: ignore[no-untyped-def]
        def uow_factory() -> MatcherUnitOfWork:
            return MatcherUnitOfWork(runtime.session_factory, on_commit=runtime.relay.wake)

        runtime.uow_factory = uow_factory
        background = []
        if settings.planner_enabled:
            options = PlanningOptions(params=settings.parameters(),
                                      max_steps=settings.batch_max_steps,
                                      producer=settings.service_name)
            background.append(PlanningLoop(uow_factory=uow_factory, options=options,
                                           interval_s=settings.batch_interval_s))
        return make_event_handler(uow_factory), background

    return create_service_app(ServiceSpec(
        title="sharefab matcher",
        description="Plans open steps onto idle capacity windows, cluster by cluster, and "
                    "explains every step it cannot place.",
        settings=settings,
        migrations_dir=MIGRATIONS_DIR,
        routers=[api.router],
        consumer_topics=[CAPACITY, ORDERS],
        wire=wire,
    ))
