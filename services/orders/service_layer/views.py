"""Reads: one order, or a page of orders with an opaque cursor (newest first)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from services.orders.domain.model import Order
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork


class OrderNotFound(Exception):
    """No such order, or not one the caller may see (the two are not told apart)."""


class InvalidCursor(Exception):
    pass


def get_order(uow: AbstractUnitOfWork, order_id: str, *, buyer_firm_id: str | None) -> Order:
    """The order; ``buyer_firm_id`` None means the caller may see every order (operator)."""
    with uow:
        order = uow.orders.get(order_id)
    if order is None or (buyer_firm_id is not None and order.buyer_firm_id != buyer_firm_id):
        raise OrderNotFound(order_id)
    return order


def list_orders(
    uow: AbstractUnitOfWork,
    *,
    buyer_firm_id: str | None,
    status: str | None = None,
    cluster_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Order], str | None]:
    """A page of orders and the cursor of the next page (None on the last page)."""
    before = decode_cursor(cursor) if cursor else None
    with uow:
        orders = uow.orders.page(buyer_firm_id=buyer_firm_id, status=status,
                                 cluster_id=cluster_id, before=before, limit=limit + 1)
    if len(orders) <= limit:
        return orders, None
    last = orders[limit - 1]
    return orders[:limit], encode_cursor(last.created_at, last.id)


def encode_cursor(created_at: datetime, order_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), order_id]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, order_id = json.loads(raw)
        created_at = datetime.fromisoformat(stamp)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor("the cursor is not one this service gave out") from exc
    if created_at.tzinfo is None or not isinstance(order_id, str):
        raise InvalidCursor("the cursor is not one this service gave out")
    return created_at, order_id

