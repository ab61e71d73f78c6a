"""HTTP API of the orders service: submit (one or a batch), read, list, follow, cancel and
revise orders (under /v1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from services.orders.domain.commands import CancelOrder, ReviseOrder, SubmitOrder, SubmitOrders
from services.orders.domain.errors import InvalidOrder, NotCancellable, NothingToRevise
from services.orders.domain.model import Order
from services.orders.domain.status import OrderStatus
from services.orders.entrypoints.metrics import MetricsDep, OrdersMetrics
from services.orders.schemas import (
    OrderCancel,
    OrderCreate,
    OrderPublic,
    OrderRevision,
    OrdersPublic,
    TimelineEntryPublic,
    TimelinePublic,
)
from services.orders.schemas_batch import OrdersBatchCreate, OrdersBatchPublic, draft_of
from services.orders.service_layer import batch, handlers, views
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork
from shared.audit_api import audit_router
from shared.auth import Buyer, BuyerOrOperator
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["orders"])


async def get_uow(request: Request) -> AbstractUnitOfWork:
    return request.app.state.runtime.uow_factory()  # type: ignore[no-any-return]


UowDep = Annotated[AbstractUnitOfWork, Depends(get_uow)]
audit_routes = audit_router(get_uow, actions=handlers.AUDITED_ACTIONS)
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="retrying with the same key and body answers the first order again")]
PROBLEMS = {s: {"description": d, "content": {"application/problem+json": {}}} for s, d in {
    401: "no or invalid bearer token", 403: "the role may not do this",
    404: "no such order (or not yours)", 409: "Idempotency-Key reused with another body",
    422: "invalid fields, named in `errors`"}.items()}
NOT_CANCELLABLE = {"description": "production started: too late to cancel",
                   "content": {"application/problem+json": {}}}
NOT_REVISABLE = {"description": "production started: too late to revise (or Idempotency-Key "
                 "reused with another body)", "content": {"application/problem+json": {}}}


@contextmanager
def _as_problems() -> Iterator[None]:
    try:
        yield
    except InvalidOrder as exc:
        errors = [{"field": f"body.{e.field}", "message": e.message, "type": "value_error"}
                  for e in exc.errors]
        raise Problem(422, "Validation failed", "invalid fields: "
                      + ", ".join(e["field"] for e in errors), errors=errors) from exc
    except (handlers.IdempotencyConflict, NotCancellable) as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
    except NothingToRevise as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "body", "message": str(exc)}]) from exc
    except views.OrderNotFound as exc:
        raise Problem(404, "Not found", f"no order {exc}") from exc
    except views.InvalidCursor as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.cursor", "message": str(exc)}]) from exc
    except views.InvalidRange as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.created_from", "message": str(exc)}]) from exc
    except views.UnknownCluster as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.cluster_id", "message": str(exc)}]) from exc


@router.post("/orders", status_code=201, summary="Submit an order", operation_id="submit_order",
             responses={k: PROBLEMS[k] for k in (401, 403, 409, 422)})
async def submit_order(
    body: OrderCreate, buyer: Buyer, request: Request, response: Response, metrics: MetricsDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic:
    """Written with the other requests that arrive meanwhile, in one transaction
    (``SubmitQueue``); each is answered as if it had come alone."""
    cmd = SubmitOrder(buyer_firm_id=buyer.firm_id, buyer_clusters=buyer.clusters,
                      terms=body.to_terms(), idempotency_key=idempotency_key)
    with _as_problems():
        order, replayed = await request.app.state.submit_queue.submit(cmd)
    return _new_order(order, replayed=replayed, response=response, metrics=metrics)


@router.post("/orders:batch", summary="Submit up to 1,000 orders, each accepted or refused alone",
             operation_id="submit_orders_batch",
             responses={k: PROBLEMS[k] for k in (401, 403, 409, 422)})
def submit_orders_batch(
    body: OrdersBatchCreate, buyer: Buyer, uow: UowDep, response: Response,
    metrics: MetricsDep, idempotency_key: IdempotencyKey = None,
) -> OrdersBatchPublic:
    """200 with one result per item (its order id, or a problem naming the bad fields as
    `orders.<index>.<field>`); the valid orders are stored together with their events."""
    cmd = SubmitOrders(buyer_firm_id=buyer.firm_id, buyer_clusters=buyer.clusters,
                       drafts=tuple(draft_of(raw) for raw in body.orders),
                       fingerprint=batch.body_fingerprint(body.orders),
                       idempotency_key=idempotency_key)
    with _as_problems():
        result = batch.submit_orders(cmd, uow)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        metrics.submitted.inc(result.accepted)
    return OrdersBatchPublic.of(result)


@router.get("/orders/{order_id}", summary="One order", operation_id="get_order",
            responses={k: PROBLEMS[k] for k in (401, 403, 404)})
def get_order(order_id: str, caller: BuyerOrOperator, uow: UowDep) -> OrderPublic:
    with _as_problems():
        order = views.get_order(uow, order_id, buyer_firm_id=_own_firm(caller))
    return OrderPublic.of(order)


@router.get("/orders", summary="Orders, newest first (a buyer's own; every order for operators)",
            operation_id="list_orders",
            responses={k: PROBLEMS[k] for k in (401, 403, 422)})
def list_orders(
    caller: BuyerOrOperator,
    uow: UowDep,
    status: OrderStatus | None = None,
    cluster_id: str | None = None,
    created_from: Annotated[datetime | None, Query(
        description="created at or after (ISO-8601; UTC when no zone)")] = None,
    created_to: Annotated[datetime | None, Query(
        description="created before (ISO-8601; UTC when no zone)")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrdersPublic:
    with _as_problems():
        orders, next_cursor = views.list_orders(
            uow, buyer_firm_id=_own_firm(caller), status=status, cluster_id=cluster_id,
            created_from=_utc(created_from), created_to=_utc(created_to), cursor=cursor,
            limit=limit)
    return OrdersPublic(items=[OrderPublic.of(o) for o in orders], next_cursor=next_cursor)


@router.get("/orders/{order_id}/timeline", summary="Every event that touched the order, in order",
            operation_id="get_order_timeline",
            responses={k: PROBLEMS[k] for k in (401, 403, 404, 422)})
def get_order_timeline(
    order_id: str,
    caller: BuyerOrOperator,
    uow: UowDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TimelinePublic:
    with _as_problems():
        entries, next_cursor = views.order_timeline(
            uow, order_id, buyer_firm_id=_own_firm(caller), cursor=cursor, limit=limit)
    return TimelinePublic(items=[TimelineEntryPublic.of(e) for e in entries],
                          next_cursor=next_cursor)


@router.post("/orders/{order_id}/cancel", summary="Cancel an order until production starts",
             operation_id="cancel_order",
             responses={**{k: PROBLEMS[k] for k in (401, 403, 404, 422)}, 409: NOT_CANCELLABLE})
def cancel_order(
    order_id: str, caller: BuyerOrOperator, uow: UowDep,
    body: Annotated[OrderCancel | None, Body()] = None,
) -> OrderPublic:
    """Every step is cancelled and order.cancelled is emitted: capacity releases the holds
    and acceptances, the matcher drops the steps."""
    cmd = CancelOrder(order_id=order_id, buyer_firm_id=_own_firm(caller),
                      reason=body.reason if body else None, actor=caller.firm_id,
                      actor_role=caller.role.value)
    with _as_problems():
        order = handlers.cancel_order(cmd, uow)
    return OrderPublic.of(order)


@router.post("/orders/{order_id}/revise", status_code=201,
             summary="Revise an order's terms: a new order replaces it",
             operation_id="revise_order",
             responses={**{k: PROBLEMS[k] for k in (401, 403, 404, 422)}, 409: NOT_REVISABLE})
def revise_order(
    order_id: str, body: OrderRevision, buyer: Buyer, uow: UowDep, response: Response,
    metrics: MetricsDep, idempotency_key: IdempotencyKey = None,
) -> OrderPublic:
    """When a step's explanation (matcher) names `revisable_terms` (a distance limit, a
    tier, a due date, …), change them here: a new order with the same steps and the changed
    terms is submitted (`revision_of`) and this one is cancelled (`revised_as`), so its holds
    and acceptances are given back. Possible until production starts; answers the new
    order."""
    cmd = ReviseOrder(order_id=order_id, buyer_firm_id=buyer.firm_id,
                      buyer_clusters=buyer.clusters, changes=body.changes(),
                      idempotency_key=idempotency_key)
    with _as_problems():
        order, replayed = handlers.revise_order(cmd, uow)
    return _new_order(order, replayed=replayed, response=response, metrics=metrics)


def _new_order(order: Order, *, replayed: bool, response: Response,
               metrics: OrdersMetrics) -> OrderPublic:
    """The answer to a request that made an order (or, retried with its Idempotency-Key,
    made it before): where it is, whether it is a replay, and the submitted count."""
    response.headers["Location"] = f"{router.prefix}/orders/{order.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        metrics.submitted.inc()
    return OrderPublic.of(order)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _own_firm(caller: BuyerOrOperator) -> str | None:
    """The firm whose orders the caller may see; None for the operator (every order)."""
    return None if caller.is_operator else caller.firm_id
