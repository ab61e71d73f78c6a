"""Wires the matcher: settings → runtime → unit of work, event handler, planning loop, routes.

Run it with ``uvicorn --factory services.matcher.bootstrap:create_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.matcher.adapters.unit_of_work import MatcherUnitOfWork, UowOffsetStore
from services.matcher.config import Settings
from services.matcher.entrypoints import api, dashboard, stats_api
from services.matcher.entrypoints.consumer import make_event_handler
from services.matcher.entrypoints.metrics import AtRiskCollector, MatcherMetrics
from services.matcher.entrypoints.planner import PlanningLoop, flush_outbox, partition_owner
from services.matcher.entrypoints.retention import RunInputRetention
from services.matcher.service_layer.planning import PlanningOptions
from shared.events.topics import CAPACITY, MATCHING, ORDERS
from shared.service import Runtime, ServiceSpec
from shared.service import create_app as create_service_app

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    loops: list[PlanningLoop] = []
    observers: list[MatcherMetrics] = []

    def wire(runtime: Runtime):  # type: ignore[no-untyped-def]
        def uow_factory() -> MatcherUnitOfWork:
            return MatcherUnitOfWork(runtime.session_factory, on_commit=runtime.relay.wake)

        runtime.uow_factory = uow_factory
        observers.append(MatcherMetrics(runtime.metrics.registry))
        runtime.metrics.registry.register(AtRiskCollector(uow_factory))
        if settings.planner_enabled:
            options = PlanningOptions(params=settings.parameters(),
                                      max_steps=settings.run_max_steps,
                                      full_batch_steps=settings.batch_max_steps,
                                      producer=settings.service_name,
                                      solver=settings.solver,
                                      solver_options=settings.solver_options(),
                                      observer=observers[0])
            loops.append(PlanningLoop(uow_factory=uow_factory, options=options,
                                      interval_s=settings.batch_interval_s,
                                      owns=partition_owner(lambda: runtime.consumer)))
        on_applied = loops[0].nudge if loops else None
        background: list[Any] = list(loops)
        if settings.snapshot_retention_days:
            background.append(RunInputRetention(
                uow_factory=uow_factory, days=settings.snapshot_retention_days,
                interval_s=settings.retention_interval_s,
                on_pruned=observers[0].run_inputs_pruned.inc))
        return make_event_handler(uow_factory, on_applied=on_applied), background

    def consumer_options(runtime: Runtime) -> dict[str, Any]:
        """Rebuild from the topics: stored offsets, causes replayed before effects, and a
        hand-over that finishes the run in progress and publishes it before the rebalance."""

        def on_revoked(_partitions: set[tuple[str, int]]) -> None:
            for loop in loops:
                loop.quiesce()
            if settings.outbox_relay_enabled:
                flush_outbox(runtime.relay.unpublished_count, runtime.relay.wake)

        return {"offset_store": UowOffsetStore(runtime.uow_factory),
                "replay_order": [ORDERS, MATCHING, CAPACITY], "on_revoked": on_revoked}

    app = create_service_app(ServiceSpec(
        title="sharefab matcher",
        description="Plans open steps onto idle capacity windows, cluster by cluster, and "
                    "explains every step it cannot place.",
        settings=settings,
        migrations_dir=MIGRATIONS_DIR,
        routers=[api.router, stats_api.router, dashboard.router],
        consumer_topics=[CAPACITY, ORDERS, MATCHING],
        wire=wire,
        consumer_options=consumer_options,
    ))
    app.state.run_observer = observers[0]  # manual runs (POST /v1/match-runs) count as well
    return app
