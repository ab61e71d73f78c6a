"""Reads: one order, a page of orders (newest first) or of an order's timeline (oldest first),
pages behind opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from services.orders.domain.model import Order
from services.orders.domain.timeline import TimelineEntry
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork


class OrderNotFound(Exception):
    """No such order, or not one the caller may see (the two are not told apart)."""


class InvalidCursor(Exception):
    pass


class InvalidRange(Exception):
    """created_from is after created_to."""


class UnknownCluster(Exception):
    """A cluster filter naming a cluster the orders service has never heard of (a typo must
    not read as a cluster without orders)."""

    def __init__(self, cluster_id: str) -> None:
        super().__init__(f"cluster {cluster_id!r} is not known")


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
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Order], str | None]:
    """A page of orders created in [created_from, created_to) and the cursor of the next page
    (None on the last page)."""
    if created_from is not None and created_to is not None and created_from > created_to:
        raise InvalidRange("created_from must not be after created_to")
    before = decode_cursor(cursor) if cursor else None
    with uow:
        if cluster_id is not None and not uow.clusters.exists(cluster_id):
            raise UnknownCluster(cluster_id)
        orders = uow.orders.page(buyer_firm_id=buyer_firm_id, status=status,
                                 cluster_id=cluster_id, created_from=created_from,
                                 created_to=created_to, before=before, limit=limit + 1)
    if len(orders) <= limit:
        return orders, None
    last = orders[limit - 1]
    return orders[:limit], encode_cursor(last.created_at, last.id)


def order_timeline(
    uow: AbstractUnitOfWork,
    order_id: str,
    *,
    buyer_firm_id: str | None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[TimelineEntry], str | None]:
    """A page of the order's timeline, oldest first, and the cursor of the next page."""
    after = decode_sequence_cursor(cursor) if cursor else None
    with uow:
        order = uow.orders.get(order_id)
        if order is None or buyer_firm_id not in (None, order.buyer_firm_id):
            raise OrderNotFound(order_id)
        found = uow.timeline.page(order_id, after=after, limit=limit + 1)
    entries = [e for _, e in found[:limit]]
    if len(found) <= limit:
        return entries, None
    return entries, encode_sequence_cursor(found[limit - 1][0])


def encode_sequence_cursor(sequence: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["seq", sequence]).encode()).decode().rstrip("=")


def decode_sequence_cursor(cursor: str) -> int:
    try:
        tag, sequence = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor("the cursor is not one this service gave out") from exc
    if (tag != "seq" or not isinstance(sequence, int) or isinstance(sequence, bool)
            or not 0 <= sequence < 2**63):  # timeline ids are 64-bit
        raise InvalidCursor("the cursor is not one this service gave out")
    return sequence


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

