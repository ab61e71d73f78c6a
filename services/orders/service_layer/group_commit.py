"""Single submissions (each its own POST /v1/orders) written together: one transaction for all
the requests that arrived while the previous group was being written.

Each request is judged on its own and answered exactly as ``handlers.submit_order`` answers it
alone — its order, an idempotent replay, or its own error — so grouping changes only how many
commits the database sees. Should the group's transaction fail (a key taken meanwhile by
another instance, a handler bug), the caller writes the requests one by one instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from services.orders.domain.commands import SubmitOrder
from services.orders.domain.errors import InvalidOrder
from services.orders.domain.model import Order
from services.orders.service_layer import timeline
from services.orders.service_layer.handlers import (
    IdempotencyConflict,
    submit_order,
    submitted_event,
    terms_fingerprint,
    utcnow,
)
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork, IdempotencyRecord

logger = logging.getLogger(__name__)

Answer = tuple[Order, bool] | Exception  # (order, replayed), or what submit_order would raise


def submit_many(
    cmds: Sequence[SubmitOrder], uow: AbstractUnitOfWork, *, now: datetime | None = None
) -> list[Answer]:
    """Stores the new orders of ``cmds`` in one transaction; one answer per command, in order.

    Raises (nothing stored) when the transaction fails; ``submit_each`` is then the way."""
    at = now or utcnow()
    answers: list[Answer | None] = [None] * len(cmds)
    new: list[Order] = []
    records: list[IdempotencyRecord] = []
    with uow:
        known = uow.clusters.known_among({c.terms.cluster_id for c in cmds})
        in_group: dict[tuple[str, str], tuple[str, Order]] = {}  # (firm, key) → (print, order)
        for i, cmd in enumerate(cmds):
            # only a keyed request is compared with an earlier one
            fingerprint = terms_fingerprint(cmd) if cmd.idempotency_key is not None else ""
            slot = (cmd.buyer_firm_id, cmd.idempotency_key or "")
            if cmd.idempotency_key is not None and slot in in_group:
                earlier_print, order = in_group[slot]  # the same key twice in one group
                answers[i] = (order, True) if earlier_print == fingerprint else IdempotencyConflict(
                    "this Idempotency-Key was used before with a different request body")
                continue
            if cmd.idempotency_key is not None and (
                    record := uow.idempotency.get(cmd.buyer_firm_id, cmd.idempotency_key)):
                if record.fingerprint != fingerprint or record.order_id is None:
                    answers[i] = IdempotencyConflict(
                        "this Idempotency-Key was used before with a different request body")
                else:
                    answers[i] = (uow.orders.get(record.order_id), True)  # type: ignore[assignment]
                continue
            try:
                order = Order.submit(cmd.terms, buyer_firm_id=cmd.buyer_firm_id,
                                     buyer_clusters=cmd.buyer_clusters,
                                     cluster_known=cmd.terms.cluster_id in known, now=at)
            except InvalidOrder as exc:
                answers[i] = exc
                continue
            new.append(order)
            answers[i] = (order, False)
            if cmd.idempotency_key is not None:
                in_group[slot] = (fingerprint, order)
                records.append(IdempotencyRecord(cmd.buyer_firm_id, cmd.idempotency_key,
                                                 fingerprint, order.id))
        if new:
            envelopes = [submitted_event(o) for o in new]
            uow.orders.add_all(new)
            uow.idempotency.add_all(records)  # after the orders they refer to
            uow.publish_all(envelopes)
            uow.timeline.add_all([timeline.submitted(o, e)
                                  for o, e in zip(new, envelopes, strict=True)])
            uow.commit()
    return answers  # type: ignore[return-value]


def submit_each(
    cmds: Sequence[SubmitOrder], uow_factory: Callable[[], AbstractUnitOfWork]
) -> list[Answer]:
    """The fallback: each command in its own transaction, as if it had come alone."""
    answers: list[Answer] = []
    for cmd in cmds:
        try:
            answers.append(submit_order(cmd, uow_factory()))
        except Exception as exc:  # handed to that request alone
            answers.append(exc)
    return answers
