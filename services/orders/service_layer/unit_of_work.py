"""The unit-of-work port: repositories plus publish/claim/commit, one transaction.

The SQLAlchemy adapter implements it for the service; unit tests pass a fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from services.orders.domain.model import Order
from shared.events import Envelope


class DuplicateRecord(Exception):
    """A row with the same key was written concurrently (a unique constraint fired)."""


@dataclass(frozen=True)
class IdempotencyRecord:
    buyer_firm_id: str
    key: str
    fingerprint: str  # hash of the request's order terms
    order_id: str


class OrderRepository(Protocol):
    def add(self, order: Order) -> None: ...

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None: ...

    def save(self, order: Order) -> None: ...

    def page(
        self,
        *,
        buyer_firm_id: str | None,
        status: str | None,
        cluster_id: str | None,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Order]:
        """Newest first; ``before`` = (created_at, id) of the last order already seen."""
        ...


class ClusterRepository(Protocol):
    def exists(self, cluster_id: str) -> bool: ...

    def upsert(self, cluster_id: str, name: str) -> None: ...


class IdempotencyRepository(Protocol):
    def get(self, buyer_firm_id: str, key: str) -> IdempotencyRecord | None: ...

    def add(self, record: IdempotencyRecord) -> None:
        """Raises DuplicateRecord when another request took the key meanwhile."""
        ...


class AbstractUnitOfWork(Protocol):
    orders: OrderRepository
    clusters: ClusterRepository
    idempotency: IdempotencyRepository

    def __enter__(self) -> Self: ...

    def __exit__(self, *args: Any) -> None:
        """Rolls back whatever was not committed."""
        ...

    def publish(self, envelope: Envelope) -> None: ...

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        """Records the event in the inbox; False if it was applied before."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
