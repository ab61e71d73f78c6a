"""HTTP API of the orders service: submit, read and list orders (under /v1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from services.orders.domain.commands import SubmitOrder
from services.orders.domain.errors import InvalidOrder
from services.orders.domain.status import OrderStatus
from services.orders.schemas import OrderCreate, OrderPublic, OrdersPublic
from services.orders.service_layer import handlers, views
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork
from shared.auth import Buyer, BuyerOrOperator
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["orders"])


def get_uow(request: Request) -> AbstractUnitOfWork:
    return request.app.state.runtime.uow_factory()  # type: ignore[no-any-return]


UowDep = Annotated[AbstractUnitOfWork, Depends(get_uow)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="retrying with the same key and body answers the first order again")]
PROBLEMS = {s: {"description": d, "content": {"application/problem+json": {}}} for s, d in {
    401: "no or invalid bearer token", 403: "the role may not do this",
    404: "no such order (or not yours)", 409: "Idempotency-Key reused with another body",
    422: "invalid fields, named in `errors`"}.items()}


@contextmanager
def _as_problems() -> Iterator[None]:
    try:
        yield
    except InvalidOrder as exc:
        errors = [{"field": f"body.{e.field}", "message": e.message, "type": "value_error"}
                  for e in exc.errors]
        raise Problem(422, "Validation failed", "invalid fields: "
                      + ", ".join(e["field"] for e in errors), errors=errors) from exc
    except handlers.IdempotencyConflict as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
    except views.OrderNotFound as exc:
        raise Problem(404, "Not found", f"no order {exc}") from exc
    except views.InvalidCursor as exc:
        raise Problem(422, "Validation failed", str(exc),
                      errors=[{"field": "query.cursor", "message": str(exc)}]) from exc


@router.post("/orders", status_code=201, summary="Submit an order", operation_id="submit_order",
             responses={k: PROBLEMS[k] for k in (401, 403, 409, 422)})
def submit_order(
    body: OrderCreate, buyer: Buyer, uow: UowDep, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic:
    cmd = SubmitOrder(buyer_firm_id=buyer.firm_id, buyer_clusters=buyer.clusters,
                      terms=body.to_terms(), idempotency_key=idempotency_key)
    with _as_problems():
        order, replayed = handlers.submit_order(cmd, uow)
    response.headers["Location"] = f"{router.prefix}/orders/{order.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return OrderPublic.of(order)


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
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrdersPublic:
    with _as_problems():
        orders, next_cursor = views.list_orders(
            uow, buyer_firm_id=_own_firm(caller), status=status, cluster_id=cluster_id,
            cursor=cursor, limit=limit)
    return OrdersPublic(items=[OrderPublic.of(o) for o in orders], next_cursor=next_cursor)


def _own_firm(caller: BuyerOrOperator) -> str | None:
    """The firm whose orders the caller may see; None for the operator (every order)."""
    return None if caller.is_operator else caller.firm_id
