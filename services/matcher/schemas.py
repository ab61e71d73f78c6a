"""Request and response models of the matcher's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_RUN_EXAMPLE = {
    "id": "run_5f2c9a0e1b7d4c33", "cluster_id": "qhd-auto", "trigger": "manual",
    "status": "optimal", "placed_steps": 1, "unplaced_steps": 0, "objective": 1084.52,
    "wall_s": 0.0012, "started_at": "2026-12-01T00:00:00Z", "finished_at": "2026-12-01T00:00:00Z",
    "bound": 1084.52, "gap": 0.0, "seed": 0,
}


class MatchRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"cluster_id": "qhd-auto"}]})

    cluster_id: str = Field(min_length=1, max_length=64)


class MatchRunPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RUN_EXAMPLE]})

    id: str
    cluster_id: str
    trigger: str = Field(description="interval (the planning loop), batch_full (enough "
                         "pending steps woke the loop early) or manual")
    status: str = Field(description="optimal | feasible | infeasible | unknown")
    placed_steps: int
    unplaced_steps: int
    objective: float | None
    wall_s: float
    started_at: datetime
    finished_at: datetime
    bound: float | None = Field(None, description="the optimiser's lower bound on the objective")
    gap: float | None = Field(None, description="(objective − bound) / max(1, |objective|)")
    seed: int | None = Field(None, description="the solver's random seed (for replay)")


class MatchRunsPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [_RUN_EXAMPLE], "next_cursor": None}]})

    items: list[MatchRunPublic]
    next_cursor: str | None


class ProposalPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "step_id": "stp_1", "order_id": "ord_1", "window_id": "win_1", "machine_id": "mac_1",
        "factory_id": "fac_1", "hours": 6.0, "price": 1085.58, "transport_km": 2.79}]})

    step_id: str
    order_id: str
    window_id: str
    machine_id: str
    factory_id: str
    hours: float
    price: float
    transport_km: float


class UnplacedPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "step_id": "stp_2", "order_id": "ord_2", "reason": "outside_distance",
        "detail": "3 capable factories at 71–85 km, limit 60"}]})

    step_id: str
    order_id: str
    reason: str
    detail: str


class MatchRunDetailPublic(MatchRunPublic):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_RUN_EXAMPLE, "parameters": {"speed_kmh": 50.0, "transport_cost_per_km": 2.0,
                                       "sme_bonus_per_hour": 0.0, "unplaced_penalty": 100000.0,
                                       "max_steps": 1000, "solver": "cpsat", "time_limit_s": 2.0,
                                       "threads": 2, "seed": 0, "deterministic": False},
        "proposals": [{"step_id": "stp_1", "order_id": "ord_1", "window_id": "win_1",
                       "machine_id": "mch_1", "factory_id": "fac_1", "hours": 6.0,
                       "price": 1084.52, "transport_km": 2.26}],
        "unplaced": []}]})

    parameters: dict[str, Any]
    proposals: list[ProposalPublic]
    unplaced: list[UnplacedPublic]


class FunnelStagePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stage": "tier",
                                                               "candidates": 0}]})

    stage: str
    candidates: int = Field(description="windows still eligible after this stage")


class ExplanationPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "step_id": "stp_1", "order_id": "ord_1", "status": "unplaced",
        "reason": "tier_below_minimum",
        "detail": "1 candidate window(s) left, but all at factories below tier excellent",
        "funnel": [{"stage": "windows", "candidates": 3}, {"stage": "process", "candidates": 1},
                   {"stage": "material", "candidates": 1}, {"stage": "tier", "candidates": 0}],
        "nearest_miss": "tier: factory tier advanced is below excellent",
        "revisable_terms": ["min_tier"]}]})

    step_id: str
    order_id: str
    status: str
    reason: str | None = Field(description="reason code of the last run that left it unplaced")
    detail: str | None
    funnel: list[FunnelStagePublic] = Field(
        description="candidate windows after each stage, computed now from the current state")
    nearest_miss: str | None = Field(
        None, description="what stopped the candidate that came closest (of those that got "
        "furthest, the one that fell least short). Never an identity; a buyer reads a "
        "factory's distance rounded up to 5 km and a window's end to the day, the operator "
        "the exact figures")
    revisable_terms: list[str] = Field(
        default_factory=list, description="for an unplaced step, the order terms its reason "
        "points at, which the buyer may change with POST /v1/orders/{order_id}/revise (orders "
        "service); empty when the step waits for capacity or another step")


class PartitionsPublic(BaseModel):
    """This instance's share of the consumer group (scale-out: a cluster is planned by the
    instance holding its partition, once that partition's history has been applied)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "assigned": ["capacity.v1:0", "matching.v1:0", "orders.v1:0"],
        "ready": ["capacity.v1:0", "matching.v1:0", "orders.v1:0"],
        "partition_counts": {"capacity.v1": 6, "matching.v1": 6, "orders.v1": 6}}]})

    assigned: list[str] = Field(description="topic:partition held by this instance")
    ready: list[str] = Field(description="held and caught up: its clusters are planned here")
    partition_counts: dict[str, int]


class ReplayDifferencePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "step_id": "stp_1", "original_window_id": "win_1", "replayed_window_id": "win_2"}]})

    step_id: str
    original_window_id: str | None = Field(description="null: the run left the step unplaced")
    replayed_window_id: str | None = Field(description="null: the replay left it unplaced")


class ReplayPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "match_run_id": "run_5f2c9a0e1b7d4c33", "identical": True, "objective": 1084.52,
        "original_objective": 1084.52, "original_deterministic": True, "differences": []}]})

    match_run_id: str
    identical: bool = Field(description="the replay placed every step on the same window")
    objective: float
    original_objective: float | None
    original_deterministic: bool = Field(
        description="false: the run was solved against the wall clock and may differ")
    differences: list[ReplayDifferencePublic]
