"""Operator statistics: ``GET /v1/stats``, ``GET /v1/stats/series`` (the dashboard's charts) and
``GET /v1/orders-at-risk``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.matcher.domain.stats import InvalidWindow, Latency, OrderAtRisk, parse_window
from services.matcher.schemas_stats import (
    LatencyPublic,
    OrderAtRiskPublic,
    OrdersAtRiskPublic,
    SeriesPointPublic,
    StatsPublic,
    StatsRunPublic,
    StatsSeriesPublic,
    UnplacedStepPublic,
)
from services.matcher.service_layer import stats
from services.matcher.service_layer.planning import UnknownCluster
from services.matcher.service_layer.unit_of_work import UnitOfWork
from services.matcher.service_layer.views import InvalidCursor
from shared.auth import Operator
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["stats"],
                   generate_unique_id_function=lambda route: route.name)

WindowText = Annotated[str, Query(max_length=10, description="15m, 1h, 24h, 7d … (1m to 90d)")]
ClusterQuery = Annotated[str | None, Query(max_length=64, description="one cluster; default all")]
Buckets = Annotated[int, Query(ge=1, le=120, description="how many equal buckets")]
ERRORS = {401: {"description": "no or bad token"}, 403: {"description": "not an operator"},
          422: {"description": "bad window, or a cluster the matcher does not know"}}


def window_of(text: str) -> timedelta:
    try:
        return parse_window(text)
    except InvalidWindow as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.window", "message": str(exc)}]) from exc


@contextmanager
def _known_cluster() -> Iterator[None]:
    try:
        yield
    except UnknownCluster as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.cluster", "message": str(exc)}]) from exc


async def get_uow(request: Request) -> UnitOfWork:
    return request.app.state.runtime.uow_factory()


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


@router.get("/stats", summary="Demand and matching over a window (operator)", responses=ERRORS)
def get_stats(_: Operator, uow: UowDep, cluster: ClusterQuery = None,
              window: WindowText = "1h") -> StatsPublic:
    return stats_public(uow=uow, cluster=cluster, window=window)


@router.get("/stats/series", summary="The same window in equal buckets, oldest first "
            "(operator)", responses=ERRORS)
def get_stats_series(_: Operator, uow: UowDep, cluster: ClusterQuery = None,
                     window: WindowText = "1h", buckets: Buckets = 12) -> StatsSeriesPublic:
    return series_public(uow=uow, cluster=cluster, window=window, buckets=buckets)


@router.get("/orders-at-risk", summary="Orders with a step accepted and another unplaced, "
            "soonest due first (operator)",
            responses={**ERRORS, 422: {"description": "a cluster the matcher does not know, "
                                                      "or a bad cursor"}})
def list_orders_at_risk(_: Operator, uow: UowDep, cluster: ClusterQuery = None,
                        cursor: Annotated[str | None, Query(max_length=200)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> OrdersAtRiskPublic:
    """Suppliers hold hours for these orders, which cannot be completed as they stand: a
    supplier declined a step (or its window went) and no other window could take it. The
    buyer can revise or cancel the order; new idle windows are planned at once."""
    return orders_at_risk_public(uow=uow, cluster=cluster, cursor=cursor, limit=limit)


def orders_at_risk_public(*, uow: UnitOfWork, cluster: str | None, cursor: str | None,
                          limit: int) -> OrdersAtRiskPublic:
    try:
        with _known_cluster():
            orders, next_cursor = stats.orders_at_risk(uow=uow, cluster_id=cluster,
                                                       cursor=cursor, limit=limit)
    except InvalidCursor as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.cursor", "message": str(exc)}]) from exc
    return OrdersAtRiskPublic(items=[_at_risk(o) for o in orders], next_cursor=next_cursor)


def _at_risk(o: OrderAtRisk) -> OrderAtRiskPublic:
    return OrderAtRiskPublic(
        order_id=o.order_id, cluster_id=o.cluster_id, buyer_firm_id=o.buyer_firm_id,
        title=o.title, due=o.due, steps=o.steps, steps_completed=o.steps_completed,
        steps_at_risk=o.steps_at_risk, at_risk_hours=round(o.at_risk_hours, 2),
        unplaced=[UnplacedStepPublic(step_id=u.step_id, key=u.key, reason=u.reason,
                                     detail=u.detail) for u in o.unplaced])


def stats_public(*, uow: UnitOfWork, cluster: str | None, window: str) -> StatsPublic:
    span = window_of(window)
    with _known_cluster():
        r = stats.report(uow=uow, cluster_id=cluster, window=span)
    s = r.steps
    return StatsPublic(
        cluster_id=cluster, window=window, window_s=int(span.total_seconds()), since=r.since,
        until=r.until, orders_submitted=r.orders_submitted,
        orders_per_min=round(r.orders_per_min, 3), steps_placed=s.placed,
        steps_unplaced=s.unplaced, match_rate=_round(s.match_rate, 4),
        latency=_latency(r.latency), offered_hours=round(r.offered_hours, 2),
        placed_hours=round(r.placed_hours, 2), utilisation=_round(r.utilisation, 4),
        sme_hours=round(s.sme_hours, 2), sme_share=_round(s.sme_share, 4),
        mean_transport_km=_round(s.mean_transport_km, 2),
        unplaced_reasons=dict(sorted(s.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        steps_completed=r.completed.steps, completed_hours=round(r.completed.hours, 2),
        orders_completed=r.completed.orders, steps_in_production=r.in_production.steps,
        in_production_hours=round(r.in_production.hours, 2),
        orders_at_risk=r.at_risk.orders, steps_at_risk=r.at_risk.steps,
        at_risk_hours=round(r.at_risk.hours, 2),
        match_runs_total=r.runs_total,
        match_runs=[StatsRunPublic(id=x.id, cluster_id=x.cluster_id, trigger=x.trigger,
                                   status=x.status, placed_steps=x.placed_steps,
                                   unplaced_steps=x.unplaced_steps, wall_s=x.wall_s,
                                   gap=x.gap, started_at=x.started_at)
                    for x in r.recent_runs])


def series_public(*, uow: UnitOfWork, cluster: str | None, window: str,
                  buckets: int) -> StatsSeriesPublic:
    span = window_of(window)
    with _known_cluster():
        points = stats.series(uow=uow, cluster_id=cluster, window=span, buckets=buckets)
    width_s = span.total_seconds() / buckets
    return StatsSeriesPublic(
        cluster_id=cluster, window=window, bucket_s=round(width_s),
        since=points[0].start, until=points[0].start + span,
        points=[SeriesPointPublic(
            start=p.start, orders_submitted=p.orders_submitted,
            orders_per_min=round(p.orders_submitted / (width_s / 60), 3),
            steps_placed=p.steps_placed, steps_unplaced=p.steps_unplaced,
            latency_p50_s=_round(p.latency.p50, 3), latency_p95_s=_round(p.latency.p95, 3),
            latency_p99_s=_round(p.latency.p99, 3)) for p in points])


def _latency(x: Latency) -> LatencyPublic:
    return LatencyPublic(count=x.count, p50_s=_round(x.p50, 3), p95_s=_round(x.p95, 3),
                         p99_s=_round(x.p99, 3))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
