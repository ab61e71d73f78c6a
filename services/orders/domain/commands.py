"""Commands: what callers ask the orders service to do (imperative names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.orders.domain.errors import FieldError
from services.orders.domain.rules import OrderTerms


@dataclass(frozen=True)
class SubmitOrder:
    buyer_firm_id: str
    buyer_clusters: tuple[str, ...]  # the clusters the buyer's token may use
    terms: OrderTerms
    idempotency_key: str | None = None


@dataclass(frozen=True)
class SubmitOrders:
    """A batch: each draft is valid-looking terms, or the errors of its request item."""

    buyer_firm_id: str
    buyer_clusters: tuple[str, ...]
    drafts: tuple[OrderTerms | tuple[FieldError, ...], ...]
    fingerprint: str  # hash of the request body, for idempotent retries
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    buyer_firm_id: str | None  # None: the operator, who may cancel any order
    reason: str | None = None
    actor: str | None = None  # the caller's firm (token sub), for the audit log
    actor_role: str | None = None

    @property
    def caller(self) -> tuple[str, str]:
        """(firm, role) of the caller: as given, or the buyer (the operator when none)."""
        role = self.actor_role or ("buyer" if self.buyer_firm_id else "operator")
        return self.actor or self.buyer_firm_id or "operator", role


@dataclass(frozen=True)
class ReviseOrder:
    """Replace an order by one with some terms changed (``changes``: OrderTerms field →
    new value); the steps stay as they are."""

    order_id: str
    buyer_firm_id: str
    buyer_clusters: tuple[str, ...]
    changes: Mapping[str, object]
    idempotency_key: str | None = None
