"""Read-side queries: match runs, and why a step is (not) placed."""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from services.matcher.domain import reasons
from services.matcher.domain.model import Allocation, Parameters, Unplaced
from services.matcher.domain.readmodel import CANCELLED, UNPLACED, build_instance
from services.matcher.domain.runs import MatchRun
from services.matcher.service_layer.planning import require_known
from services.matcher.service_layer.unit_of_work import UnitOfWork
from services.matcher.solver.eligibility import PlanState, StageCount, funnel


class InvalidCursor(ValueError):
    pass


def encode_cursor(at: datetime, key: str) -> str:
    """The cursor after the row (``at``, ``key``) of a list ordered by both."""
    raw = json.dumps([at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        started, run_id = json.loads(raw)
        return datetime.fromisoformat(started), str(run_id)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not one this API returned") from exc


def list_runs(*, uow: UnitOfWork, cluster_id: str | None, cursor: str | None, limit: int
              ) -> tuple[list[MatchRun], str | None]:
    """Raises UnknownCluster for a cluster the matcher has never heard of."""
    after = decode_cursor(cursor) if cursor else None
    with uow:
        require_known(uow, cluster_id)
        runs = uow.runs.list(cluster_id=cluster_id, after=after, limit=limit + 1)
    page = runs[:limit]
    return page, (encode_cursor(page[-1].started_at, page[-1].id) if len(runs) > limit
                  else None)


@dataclass(frozen=True)
class RunDetail:
    run: MatchRun
    proposals: list[Allocation]
    unplaced: list[Unplaced]


def get_run(run_id: str, *, uow: UnitOfWork) -> RunDetail | None:
    with uow:
        found = uow.runs.get(run_id)
    return RunDetail(*found) if found else None


@dataclass(frozen=True)
class Explanation:
    step_id: str
    order_id: str
    buyer_firm_id: str
    status: str
    reason: str | None
    detail: str | None
    funnel: tuple[StageCount, ...]
    nearest_miss: str | None  # exact figures: for the operator
    nearest_miss_told: str | None  # what the buyer reads (Funnel.nearest_miss_told)
    revisable_terms: tuple[str, ...] = ()  # order terms in the way (unplaced steps)


def explain_step(step_id: str, *, uow: UnitOfWork, params: Parameters,
                 now: datetime | None = None) -> Explanation | None:
    """The step's stored reason plus its funnel computed now, on the current read model: free
    hours as they stand, the order's other placed steps where they sit, the step itself free.
    A cancelled step is planned no more: it has no funnel."""
    now = now or datetime.now(UTC)
    with uow:
        rm = uow.read_model
        step = rm.get_step(step_id)
        order_rec = rm.get_order(step.order_id) if step else None
        if step is None or order_rec is None:
            return None
        if step.status == CANCELLED:
            return Explanation(
                step_id=step.id, order_id=step.order_id, buyer_firm_id=order_rec.buyer_firm_id,
                status=step.status, reason=None, detail=step.detail, funnel=(),
                nearest_miss=None, nearest_miss_told=None)
        snap = rm.snapshot(step.cluster_id, now=now, order_ids=[step.order_id])
    instance = build_instance(snap, params=params, now=now)
    order = instance.orders_by_id[step.order_id]
    state = PlanState.initial(instance)
    if step.window_id is not None and step.id in state.placement:
        state.undo(next(s for s in order.steps if s.id == step.id))
    own = next(s for s in order.steps if s.id == step.id)
    result = funnel(instance, order, dataclasses.replace(own, pinned_window=None), state)
    return Explanation(
        step_id=step.id, order_id=step.order_id, buyer_firm_id=order_rec.buyer_firm_id,
        status=step.status, reason=step.reason, detail=step.detail, funnel=result.stages,
        nearest_miss=result.nearest_miss, nearest_miss_told=result.nearest_miss_told,
        revisable_terms=_revisable(step.status, step.reason, result.revisable_terms))


def _revisable(status: str, reason: str | None, funnel_terms: tuple[str, ...]
               ) -> tuple[str, ...]:
    """The order terms an unplaced step's buyer could change: those that stopped the nearest
    candidate now, or the budget when the order's cheapest plan is over it."""
    if status != UNPLACED:
        return ()
    return ("budget",) if reason == reasons.OVER_BUDGET and not funnel_terms else funnel_terms
