"""The unit-of-work port: repositories plus publish/claim/commit, one transaction.

The SQLAlchemy adapter implements it for the service; unit tests pass a fake.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from services.orders.domain.model import Order
from services.orders.domain.timeline import TimelineEntry
from shared.audit import AuditLog
from shared.events import Envelope


class DuplicateRecord(Exception):
    """A row with the same key was written concurrently (a unique constraint fired)."""


@dataclass(frozen=True)
class IdempotencyRecord:
    buyer_firm_id: str
    key: str
    fingerprint: str  # hash of the request (its order terms, or a batch's body)
    order_id: str | None  # the order a POST /orders made; None for a batch
    response: str | None = None  # a batch's result (JSON), answered again on a retry


class OrderRepository(Protocol):
    def add(self, order: Order) -> None: ...

    def add_all(self, orders: Sequence[Order]) -> None:
        """New orders in bulk (a batch): one INSERT per table, not one per object."""
        ...

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None: ...

    def get_many(self, order_ids: Collection[str], *, for_update: bool = False
                 ) -> dict[str, Order]:
        """The known ones among ``order_ids``, by id (one query)."""
        ...

    def save(self, order: Order) -> None: ...

    def save_all(self, orders: Collection[Order]) -> None:
        """Several changed orders at once (one write per table, not one per order)."""
        ...

    def page(
        self,
        *,
        buyer_firm_id: str | None,
        status: str | None,
        cluster_id: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Order]:
        """Newest first, created in [created_from, created_to); ``before`` = (created_at, id)
        of the last order already seen."""
        ...


class ClusterRepository(Protocol):
    def exists(self, cluster_id: str) -> bool: ...

    def known_among(self, cluster_ids: Collection[str]) -> set[str]:
        """Which of ``cluster_ids`` the service knows (one query)."""
        ...

    def upsert(self, cluster_id: str, name: str) -> None: ...


class IdempotencyRepository(Protocol):
    def get(self, buyer_firm_id: str, key: str) -> IdempotencyRecord | None: ...

    def add(self, record: IdempotencyRecord) -> None:
        """Raises DuplicateRecord when another request took the key meanwhile."""
        ...

    def add_all(self, records: Sequence[IdempotencyRecord]) -> None:
        """Several keys at once, their orders already added; DuplicateRecord as ``add``."""
        ...


class TimelineRepository(Protocol):
    def add_all(self, entries: Sequence[TimelineEntry]) -> None: ...

    def page(
        self, order_id: str, *, after: int | None, limit: int
    ) -> list[tuple[int, TimelineEntry]]:
        """Entries in the order they were recorded, each with its sequence number; ``after``
        is the sequence number of the last entry already seen."""
        ...


class AbstractUnitOfWork(Protocol):
    orders: OrderRepository
    clusters: ClusterRepository
    idempotency: IdempotencyRepository
    timeline: TimelineRepository
    audit: AuditLog

    def __enter__(self) -> Self: ...

    def together(self) -> AbstractContextManager[Self]:
        """One transaction for several event handlers: their ``with uow`` and ``commit()``
        join it; it commits once at the end, or keeps nothing if one of them fails."""
        ...

    def __exit__(self, *args: Any) -> None:
        """Rolls back whatever was not committed."""
        ...

    def publish(self, envelope: Envelope) -> None: ...

    def publish_all(self, envelopes: Sequence[Envelope]) -> None: ...

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        """Records the event in the inbox; False if it was applied before."""
        ...

    def claim_all(self, consumer: str, envelopes: Sequence[Envelope]) -> list[bool]:
        """``claim`` for each envelope, in order, with one statement."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
