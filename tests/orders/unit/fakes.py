"""A fake unit of work (in-memory repositories) and small builders for unit tests."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from services.orders.domain.model import Order
from services.orders.domain.rules import Location, OrderTerms, StepSpec
from services.orders.service_layer.unit_of_work import DuplicateRecord, IdempotencyRecord
from shared.events import Envelope

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def step(key: str, *after: str, process: str = "cnc_milling", hours: float = 6.0) -> StepSpec:
    return StepSpec(key=key, process=process, quantity=10, hours=hours, material="steel",
                    after=tuple(after))


def terms(*steps: StepSpec, **changes: Any) -> OrderTerms:
    base = OrderTerms(cluster_id="qhd-auto", title="Brackets", delivery=Location(39.94, 119.55),
                      due=NOW + timedelta(days=7), steps=steps or (step("mill"),))
    return replace(base, **changes)


class FakeOrders:
    def __init__(self) -> None:
        self.rows: dict[str, Order] = {}

    def add(self, order: Order) -> None:
        self.rows[order.id] = copy.deepcopy(order)

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        order = self.rows.get(order_id)
        return copy.deepcopy(order) if order else None

    def save(self, order: Order) -> None:
        self.rows[order.id] = copy.deepcopy(order)

    def page(self, *, buyer_firm_id, status, cluster_id, before, limit):  # type: ignore[no-untyped-def]
        found = sorted(self.rows.values(), key=lambda o: (o.created_at, o.id), reverse=True)
        found = [o for o in found
                 if buyer_firm_id in (None, o.buyer_firm_id) and status in (None, o.status)
                 and cluster_id in (None, o.cluster_id)
                 and (before is None or (o.created_at, o.id) < before)]
        return [copy.deepcopy(o) for o in found[:limit]]


class FakeClusters:
    def __init__(self, *known: str) -> None:
        self.names = dict.fromkeys(known, "cluster")

    def exists(self, cluster_id: str) -> bool:
        return cluster_id in self.names

    def upsert(self, cluster_id: str, name: str) -> None:
        self.names[cluster_id] = name


class FakeIdempotency:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}

    def get(self, buyer_firm_id: str, key: str) -> IdempotencyRecord | None:
        return self.records.get((buyer_firm_id, key))

    def add(self, record: IdempotencyRecord) -> None:
        if (record.buyer_firm_id, record.key) in self.records:
            raise DuplicateRecord(record.key)
        self.records[(record.buyer_firm_id, record.key)] = record


class FakeUnitOfWork:
    """Stages writes like a transaction: they show only after commit()."""

    def __init__(self, *clusters: str) -> None:
        self.orders = FakeOrders()
        self.clusters = FakeClusters(*clusters)
        self.idempotency = FakeIdempotency()
        self.published: list[Envelope] = []
        self.inbox: set[tuple[str, str]] = set()
        self.commits = 0
        self._staged: list[Envelope] = []
        self._claims: set[tuple[str, str]] = set()
        self._snapshot: tuple | None = None  # type: ignore[type-arg]

    def __enter__(self) -> Self:
        self._snapshot = copy.deepcopy(
            (self.orders.rows, self.clusters.names, self.idempotency.records))
        return self

    def __exit__(self, *args: Any) -> None:
        self.rollback()

    def publish(self, envelope: Envelope) -> None:
        self._staged.append(envelope)

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        key = (consumer, str(envelope.event_id))
        if key in self.inbox or key in self._claims:
            return False
        self._claims.add(key)
        return True

    def commit(self) -> None:
        self.published.extend(self._staged)
        self.inbox |= self._claims
        self._staged, self._claims = [], set()
        self._snapshot = copy.deepcopy(
            (self.orders.rows, self.clusters.names, self.idempotency.records))
        self.commits += 1

    def rollback(self) -> None:
        if self._snapshot is not None:
            self.orders.rows, self.clusters.names, self.idempotency.records = copy.deepcopy(
                self._snapshot)
        self._staged, self._claims = [], set()
