"""Response models of the operator's statistics: ``GET /v1/stats`` and ``GET /v1/stats/series``.

Rates are fractions in [0, 1] (``null`` when there is nothing to divide by); durations are
seconds; distances kilometres; hours are machine hours.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

_LATENCY_EXAMPLE = {"count": 40, "p50_s": 1.84, "p95_s": 2.71, "p99_s": 3.02}
_RUN_EXAMPLE = {
    "id": "run_5f2c9a0e1b7d4c33", "cluster_id": "qhd-auto", "trigger": "interval",
    "status": "optimal", "placed_steps": 12, "unplaced_steps": 1, "wall_s": 0.214,
    "gap": 0.0, "started_at": "2026-12-01T09:59:58Z",
}
_STATS_EXAMPLE = {
    "cluster_id": "qhd-auto", "window": "1h", "window_s": 3600,
    "since": "2026-12-01T09:00:00Z", "until": "2026-12-01T10:00:00Z",
    "orders_submitted": 42, "orders_per_min": 0.7, "steps_placed": 96, "steps_unplaced": 4,
    "match_rate": 0.96, "latency": _LATENCY_EXAMPLE, "offered_hours": 1200.0,
    "placed_hours": 384.0, "utilisation": 0.32, "sme_hours": 230.4, "sme_share": 0.6,
    "mean_transport_km": 18.4, "unplaced_reasons": {"no_capacity": 3, "distance": 1},
    "steps_completed": 31, "completed_hours": 142.5, "orders_completed": 12,
    "steps_in_production": 9, "in_production_hours": 51.0,
    "orders_at_risk": 1, "steps_at_risk": 2, "at_risk_hours": 10.0,
    "match_runs_total": 118, "match_runs": [_RUN_EXAMPLE],
}


class LatencyPublic(BaseModel):
    """Order accepted by the orders API → the matcher's first proposal for it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_LATENCY_EXAMPLE]})

    count: int = Field(description="orders whose first proposal falls in the window")
    p50_s: float | None = Field(description="median, seconds (nearest rank)")
    p95_s: float | None
    p99_s: float | None


class StatsRunPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RUN_EXAMPLE]})

    id: str
    cluster_id: str
    trigger: str
    status: str = Field(description="optimal | feasible | infeasible | unknown")
    placed_steps: int
    unplaced_steps: int
    wall_s: float
    gap: float | None = Field(description="the optimiser's relative gap; null for the greedy")
    started_at: datetime


class StatsPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_STATS_EXAMPLE]})

    cluster_id: str | None = Field(description="the cluster asked for; null = all clusters")
    window: str = Field(description="the window as asked, e.g. 15m, 1h, 24h, 7d")
    window_s: int
    since: datetime
    until: datetime
    orders_submitted: int = Field(description="orders accepted by the orders API in the window")
    orders_per_min: float
    steps_placed: int = Field(description="steps whose latest match run in the window "
                              "proposed them")
    steps_unplaced: int = Field(description="steps whose latest match run in the window "
                                "left them unplaced")
    match_rate: float | None = Field(description="steps_placed / (placed + unplaced)")
    latency: LatencyPublic
    offered_hours: float = Field(description="idle hours offered by windows open in the window")
    placed_hours: float = Field(description="hours of those windows taken by proposed, held "
                                "or accepted steps")
    utilisation: float | None = Field(description="placed_hours / offered_hours")
    sme_hours: float = Field(description="hours of steps_placed at SME factories")
    sme_share: float | None = Field(description="sme_hours / hours of steps_placed")
    mean_transport_km: float | None = Field(description="mean over steps_placed")
    unplaced_reasons: dict[str, int] = Field(description="steps_unplaced by reason")
    steps_completed: int = Field(description="steps whose supplier reported the work "
                                 "completed in the window")
    completed_hours: float = Field(description="machine hours of steps_completed")
    orders_completed: int = Field(description="orders whose last step was completed in the "
                                  "window (every step done)")
    steps_in_production: int = Field(description="accepted steps whose supplier reported the "
                                     "work started and not yet completed (at the window's end)")
    in_production_hours: float = Field(description="machine hours of steps_in_production")
    orders_at_risk: int = Field(description="orders, now, with a step accepted and another "
                                "unplaced: suppliers committed to work that cannot be "
                                "completed unless capacity is found or the buyer revises")
    steps_at_risk: int = Field(description="the accepted steps of orders_at_risk not yet "
                               "completed")
    at_risk_hours: float = Field(description="machine hours of steps_at_risk: capacity the "
                                 "suppliers hold for those orders")
    match_runs_total: int = Field(description="match runs started in the window")
    match_runs: list[StatsRunPublic] = Field(description="the latest runs (at most 10), "
                                             "newest first")


_POINT_EXAMPLE = {
    "start": "2026-12-01T09:55:00Z", "orders_submitted": 4, "orders_per_min": 0.8,
    "steps_placed": 9, "steps_unplaced": 1, "latency_p50_s": 1.8, "latency_p95_s": 2.6,
    "latency_p99_s": 2.9,
}


class SeriesPointPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_POINT_EXAMPLE]})

    start: datetime = Field(description="the bucket's start; it lasts bucket_s")
    orders_submitted: int
    orders_per_min: float
    steps_placed: int = Field(description="steps proposed by runs in the bucket")
    steps_unplaced: int = Field(description="steps left unplaced by runs in the bucket")
    latency_p50_s: float | None = Field(description="of orders first proposed in the bucket")
    latency_p95_s: float | None
    latency_p99_s: float | None


class StatsSeriesPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "cluster_id": "qhd-auto", "window": "1h", "bucket_s": 300,
        "since": "2026-12-01T09:00:00Z", "until": "2026-12-01T10:00:00Z",
        "points": [_POINT_EXAMPLE]}]})

    cluster_id: str | None
    window: str
    bucket_s: int
    since: datetime
    until: datetime
    points: list[SeriesPointPublic] = Field(description="oldest first, equal buckets")


_AT_RISK_EXAMPLE = {
    "order_id": "ord_2ddad68b19d94c169c99ebe0f70bfb37", "cluster_id": "qhd-auto",
    "buyer_firm_id": "firm-b1", "title": "Brackets", "due": "2026-12-12T00:00:00Z",
    "steps": 3, "steps_completed": 1, "steps_at_risk": 1, "at_risk_hours": 6.0,
    "unplaced": [{"step_id": "stp_8d73f73e88454d749268aebabf214391", "key": "coat",
                  "reason": "capacity_taken",
                  "detail": "1 eligible window(s), all taken: 0 without 4 free h (used by "
                            "other steps), 1 rejected or declined for this step"}],
}


class UnplacedStepPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": _AT_RISK_EXAMPLE["unplaced"]})

    step_id: str = Field(description="GET /v1/steps/{step_id}/explanation tells the funnel "
                         "and the nearest miss")
    key: str
    reason: str | None
    detail: str | None


class OrderAtRiskPublic(BaseModel):
    """An order with a step accepted and another unplaced."""

    model_config = ConfigDict(json_schema_extra={"examples": [_AT_RISK_EXAMPLE]})

    order_id: str
    cluster_id: str
    buyer_firm_id: str = Field(description="the buyer to contact: it can revise or cancel")
    title: str
    due: datetime
    steps: int = Field(description="all of the order's steps")
    steps_completed: int = Field(description="steps whose work the supplier reported done")
    steps_at_risk: int = Field(description="accepted steps not yet completed")
    at_risk_hours: float = Field(description="machine hours of steps_at_risk")
    unplaced: list[UnplacedStepPublic] = Field(description="the steps no window could take")


class OrdersAtRiskPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [_AT_RISK_EXAMPLE], "next_cursor": None}]})

    items: list[OrderAtRiskPublic] = Field(description="soonest due first")
    next_cursor: str | None
