"""Commands: what callers ask the orders service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass

from services.orders.domain.rules import OrderTerms


@dataclass(frozen=True)
class SubmitOrder:
    buyer_firm_id: str
    buyer_clusters: tuple[str, ...]  # the clusters the buyer's token may use
    terms: OrderTerms
    idempotency_key: str | None = None
