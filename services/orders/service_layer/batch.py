"""Submitting a batch of orders: each item judged on its own, the valid ones stored together.

One transaction holds every accepted order, its steps, its order.submitted event and its
timeline entry, each written with one multi-row INSERT; the known clusters are read once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.orders.domain.commands import SubmitOrders
from services.orders.domain.errors import FieldError, InvalidOrder
from services.orders.domain.model import Order
from services.orders.domain.rules import OrderTerms
from services.orders.service_layer import timeline
from services.orders.service_layer.handlers import (
    IdempotencyConflict,
    submitted_event,
    utcnow,
)
from services.orders.service_layer.unit_of_work import (
    AbstractUnitOfWork,
    DuplicateRecord,
    IdempotencyRecord,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchItem:
    """One request item: the order it made, or the errors that kept it out."""

    index: int
    order_id: str | None = None
    errors: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    items: tuple[BatchItem, ...]
    replayed: bool = False  # answered from an earlier request with the same Idempotency-Key

    @property
    def accepted(self) -> int:
        return sum(1 for i in self.items if i.order_id is not None)

    @property
    def rejected(self) -> int:
        return len(self.items) - self.accepted

    def to_json(self) -> str:
        return json.dumps([
            {"index": i.index, "order_id": i.order_id,
             "errors": [[e.field, e.message, e.type] for e in i.errors]}
            for i in self.items
        ], separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> BatchResult:
        return cls(tuple(
            BatchItem(d["index"], d["order_id"], tuple(FieldError(*e) for e in d["errors"]))
            for d in json.loads(text)
        ))


def body_fingerprint(body: Any) -> str:
    """A stable hash of a JSON request body (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"batch\0" + canonical.encode("utf-8")).hexdigest()


def submit_orders(
    cmd: SubmitOrders, uow: AbstractUnitOfWork, *, now: datetime | None = None
) -> BatchResult:
    """Stores the valid drafts as orders; nothing is stored when none is valid.

    With an Idempotency-Key seen before, answers the earlier result (replayed) and writes
    nothing; the same key with another body raises IdempotencyConflict.

    Three phases keep the write transaction short (SQLite has one writer at a time, and the
    event consumer needs it too): read the key and the known clusters; judge the drafts and
    build rows and events in plain Python; write everything in one transaction.
    """
    with uow:
        if (earlier := _earlier_result(cmd, uow)) is not None:
            return earlier
        known = uow.clusters.known_among(
            {d.cluster_id for d in cmd.drafts if isinstance(d, OrderTerms)})
    result, orders = _judge(cmd, known, now=now or utcnow())
    if not orders:
        return result
    envelopes = [submitted_event(o) for o in orders]
    entries = [timeline.submitted(o, e) for o, e in zip(orders, envelopes, strict=True)]
    try:
        with uow:
            if cmd.idempotency_key is not None:  # first: a concurrent retry fails fast here
                uow.idempotency.add(IdempotencyRecord(
                    cmd.buyer_firm_id, cmd.idempotency_key, cmd.fingerprint, None,
                    response=result.to_json()))
            uow.orders.add_all(orders)
            uow.publish_all(envelopes)
            uow.timeline.add_all(entries)
            uow.commit()
    except DuplicateRecord:
        logger.info("a concurrent batch took Idempotency-Key %r first", cmd.idempotency_key)
        with uow:
            if (earlier := _earlier_result(cmd, uow)) is None:
                raise
            return earlier
    return result


def _judge(
    cmd: SubmitOrders, known: set[str], *, now: datetime
) -> tuple[BatchResult, list[Order]]:
    """Each draft on its own: an order, or the errors that keep it out."""
    items: list[BatchItem] = []
    orders: list[Order] = []
    for index, draft in enumerate(cmd.drafts):
        if not isinstance(draft, OrderTerms):
            items.append(BatchItem(index, errors=draft))
            continue
        try:
            order = Order.submit(draft, buyer_firm_id=cmd.buyer_firm_id,
                                 buyer_clusters=cmd.buyer_clusters,
                                 cluster_known=draft.cluster_id in known, now=now)
        except InvalidOrder as exc:
            items.append(BatchItem(index, errors=tuple(exc.errors)))
            continue
        orders.append(order)
        items.append(BatchItem(index, order_id=order.id))
    return BatchResult(tuple(items)), orders


def _earlier_result(cmd: SubmitOrders, uow: AbstractUnitOfWork) -> BatchResult | None:
    if cmd.idempotency_key is None:
        return None
    record = uow.idempotency.get(cmd.buyer_firm_id, cmd.idempotency_key)
    if record is None:
        return None
    if record.fingerprint != cmd.fingerprint or record.response is None:
        raise IdempotencyConflict(
            "this Idempotency-Key was used before with a different request body")
    return replace(BatchResult.from_json(record.response), replayed=True)
