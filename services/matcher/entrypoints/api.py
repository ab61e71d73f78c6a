"""The matcher's HTTP API under /v1: match runs (operator) and step explanations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.matcher.domain.runs import MANUAL, MatchRun
from services.matcher.entrypoints.planner import partition_owner
from services.matcher.schemas import (
    ExplanationPublic,
    FunnelStagePublic,
    MatchRunCreate,
    MatchRunDetailPublic,
    MatchRunPublic,
    MatchRunsPublic,
    PartitionsPublic,
    ProposalPublic,
    ReplayPublic,
    UnplacedPublic,
)
from services.matcher.service_layer import planning, replay, views
from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.auth import CurrentPrincipal, Operator
from shared.problems import Problem


async def get_uow(request: Request) -> UnitOfWork:
    return request.app.state.runtime.uow_factory()


async def get_options(request: Request) -> planning.PlanningOptions:
    s = request.app.state.settings
    return planning.PlanningOptions(params=s.parameters(), max_steps=s.run_max_steps,
                                    full_batch_steps=s.batch_max_steps,
                                    producer=s.service_name, solver=s.solver,
                                    solver_options=s.solver_options(),
                                    observer=request.app.state.run_observer)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]
OptionsDep = Annotated[planning.PlanningOptions, Depends(get_options)]

router = APIRouter(prefix="/v1", tags=["matching"],
                   generate_unique_id_function=lambda route: route.name)


@router.get("/match-runs", summary="List match runs, newest first",
            responses={422: {"description": "unknown cluster, or a bad cursor"}})
def list_match_runs(
    _: Operator, uow: UowDep, cluster_id: str | None = None, cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MatchRunsPublic:
    try:
        runs, next_cursor = views.list_runs(uow=uow, cluster_id=cluster_id, cursor=cursor,
                                            limit=limit)
    except views.InvalidCursor as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.cursor", "message": str(exc)}]) from exc
    except planning.UnknownCluster as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.cluster_id", "message": str(exc)}]) from exc
    return MatchRunsPublic(items=[_run(r) for r in runs], next_cursor=next_cursor)


async def get_owns(request: Request) -> Callable[[str], bool]:
    runtime = request.app.state.runtime
    return partition_owner(lambda: runtime.consumer)


OwnsDep = Annotated[Callable[[str], bool], Depends(get_owns)]


@router.post("/match-runs", status_code=201, summary="Plan a cluster now",
             responses={422: {"description": "unknown cluster"},
                        409: {"description": "another matcher instance plans this cluster"}})
def create_match_run(body: MatchRunCreate, _: Operator, uow: UowDep,
                     options: OptionsDep, owns: OwnsDep) -> MatchRunPublic:
    if not owns(body.cluster_id):
        raise Problem(409, "Planned elsewhere", f"cluster {body.cluster_id} is planned by "
                      "another matcher instance (or this one is still catching up)")
    try:
        run = planning.plan_cluster(body.cluster_id, uow=uow, options=options, trigger=MANUAL)
    except planning.UnknownCluster as exc:
        raise Problem(422, "Unknown cluster", str(exc),
                      errors=[{"field": "body.cluster_id", "message": str(exc)}]) from exc
    return _run(run)


@router.get("/match-runs/{run_id}", summary="A match run with its proposals",
            responses={404: {"description": "no such run"}})
def get_match_run(run_id: str, _: Operator, uow: UowDep) -> MatchRunDetailPublic:
    detail = views.get_run(run_id, uow=uow)
    if detail is None:
        raise Problem(404, "Not found", f"match run {run_id} does not exist")
    return MatchRunDetailPublic(
        **_run(detail.run).model_dump(), parameters=detail.run.parameters,
        proposals=[ProposalPublic.model_validate(a, from_attributes=True)
                   for a in detail.proposals],
        unplaced=[UnplacedPublic.model_validate(u, from_attributes=True)
                  for u in detail.unplaced])


@router.post("/match-runs/{run_id}/replay",
             summary="Solve a run's stored input again, deterministically, and compare",
             responses={404: {"description": "no such run"},
                        410: {"description": "the run's input was deleted after "
                                             "MATCHER_SNAPSHOT_RETENTION_DAYS"}})
def replay_match_run(run_id: str, _: Operator, uow: UowDep,
                     options: OptionsDep) -> ReplayPublic:
    try:
        found = replay.replay_run(run_id, uow=uow, options=options)
    except replay.InputDeleted as exc:
        raise Problem(410, "Gone", f"match run {run_id} is kept, but its input was deleted "
                      "after the retention period (MATCHER_SNAPSHOT_RETENTION_DAYS), so it "
                      "cannot be replayed") from exc
    if found is None:
        raise Problem(404, "Not found", f"match run {run_id} does not exist")
    return ReplayPublic.model_validate(found, from_attributes=True)


@router.get("/steps/{step_id}/explanation", summary="Why a step is placed where it is, or not",
            responses={404: {"description": "no such step, or not the caller's"}})
def explain_step(step_id: str, principal: CurrentPrincipal, uow: UowDep,
                 options: OptionsDep) -> ExplanationPublic:
    found = views.explain_step(step_id, uow=uow, params=options.params)
    if found is None or not (principal.is_operator or found.buyer_firm_id == principal.firm_id):
        raise Problem(404, "Not found", f"step {step_id} does not exist")
    return ExplanationPublic(
        step_id=found.step_id, order_id=found.order_id, status=found.status,
        reason=found.reason, detail=found.detail,
        nearest_miss=found.nearest_miss if principal.is_operator else found.nearest_miss_told,
        funnel=[FunnelStagePublic(stage=s.stage, candidates=s.candidates) for s in found.funnel],
        revisable_terms=list(found.revisable_terms))


@router.get("/partitions", summary="This instance's partitions (scale-out)")
def get_partitions(_: Operator, request: Request) -> PartitionsPublic:
    consumer = request.app.state.runtime.consumer
    a = consumer.assignment if consumer is not None else None
    if a is None:
        return PartitionsPublic(assigned=[], ready=[], partition_counts={})
    return PartitionsPublic(assigned=[f"{t}:{p}" for t, p in sorted(a.assigned)],
                            ready=[f"{t}:{p}" for t, p in sorted(a.ready)],
                            partition_counts=dict(a.partition_counts))


def _run(run: MatchRun) -> MatchRunPublic:
    return MatchRunPublic(
        id=run.id, cluster_id=run.cluster_id, trigger=run.trigger, status=run.status,
        placed_steps=run.placed_steps, unplaced_steps=run.unplaced_steps,
        objective=run.objective, wall_s=run.wall_s, started_at=run.started_at,
        finished_at=run.finished_at, bound=run.bound, gap=run.gap, seed=run.seed)
