"""A fake unit of work (in-memory repositories), small builders, and helpers that drive the
handlers through it."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from services.orders.domain.commands import SubmitOrder
from services.orders.domain.model import Order
from services.orders.domain.rules import Location, OrderTerms, StepSpec
from services.orders.domain.timeline import TimelineEntry
from services.orders.entrypoints.consumer import make_event_handler
from services.orders.service_layer import handlers
from services.orders.service_layer.unit_of_work import DuplicateRecord, IdempotencyRecord
from shared.events import Envelope, EventPayload, new_event
from shared.events.payloads import ReservationAccepted, ReservationCompleted, ReservationStarted
from tests.helpers import FakeAuditLog

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

    def add_all(self, orders: list[Order]) -> None:
        self.bulk_calls = getattr(self, "bulk_calls", 0) + 1
        for order in orders:
            self.add(order)

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        order = self.rows.get(order_id)
        return copy.deepcopy(order) if order else None

    def get_many(self, order_ids, *, for_update: bool = False) -> dict[str, Order]:  # type: ignore[no-untyped-def]
        return {i: copy.deepcopy(self.rows[i]) for i in order_ids if i in self.rows}

    def save(self, order: Order) -> None:
        self.save_all([order])

    def save_all(self, orders) -> None:  # type: ignore[no-untyped-def]
        unknown = [o.id for o in orders if o.id not in self.rows]
        if unknown:
            raise LookupError(unknown)
        for order in orders:
            self.rows[order.id] = copy.deepcopy(order)

    def page(self, *, buyer_firm_id, status, cluster_id, created_from, created_to, before,  # type: ignore[no-untyped-def]
             limit):
        found = sorted(self.rows.values(), key=lambda o: (o.created_at, o.id), reverse=True)
        found = [o for o in found
                 if buyer_firm_id in (None, o.buyer_firm_id) and status in (None, o.status)
                 and cluster_id in (None, o.cluster_id)
                 and (created_from is None or o.created_at >= created_from)
                 and (created_to is None or o.created_at < created_to)
                 and (before is None or (o.created_at, o.id) < before)]
        return [copy.deepcopy(o) for o in found[:limit]]


class FakeClusters:
    def __init__(self, *known: str) -> None:
        self.names = dict.fromkeys(known, "cluster")

    def exists(self, cluster_id: str) -> bool:
        return cluster_id in self.names

    def upsert(self, cluster_id: str, name: str) -> None:
        self.names[cluster_id] = name

    def known_among(self, cluster_ids: set[str]) -> set[str]:
        self.lookups = getattr(self, "lookups", 0) + 1
        return {c for c in cluster_ids if c in self.names}


class FakeIdempotency:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}

    def get(self, buyer_firm_id: str, key: str) -> IdempotencyRecord | None:
        return self.records.get((buyer_firm_id, key))

    def add(self, record: IdempotencyRecord) -> None:
        if (record.buyer_firm_id, record.key) in self.records:
            raise DuplicateRecord(record.key)
        self.records[(record.buyer_firm_id, record.key)] = record

    def add_all(self, records: list[IdempotencyRecord]) -> None:
        for record in records:
            self.add(record)


class FakeTimeline:
    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []

    def add_all(self, entries: list[TimelineEntry]) -> None:
        self.entries.extend(entries)

    def page(self, order_id: str, *, after: int | None, limit: int):  # type: ignore[no-untyped-def]
        numbered = [(n, e) for n, e in enumerate(self.entries, start=1)
                    if e.order_id == order_id and (after is None or n > after)]
        return numbered[:limit]

    def of(self, order_id: str) -> list[TimelineEntry]:
        return [e for e in self.entries if e.order_id == order_id]


class FakeUnitOfWork:
    """Stages writes like a transaction: they show only after commit()."""

    def __init__(self, *clusters: str) -> None:
        self.orders = FakeOrders()
        self.clusters = FakeClusters(*clusters)
        self.idempotency = FakeIdempotency()
        self.timeline = FakeTimeline()
        self.audit = FakeAuditLog()
        self.published: list[Envelope] = []
        self.inbox: set[tuple[str, str]] = set()
        self.commits = 0
        self._staged: list[Envelope] = []
        self._claims: set[tuple[str, str]] = set()
        self._snapshot: tuple | None = None  # type: ignore[type-arg]

    def __enter__(self) -> Self:
        self._snapshot = self._state()
        return self

    def __exit__(self, *args: Any) -> None:
        self.rollback()

    def publish(self, envelope: Envelope) -> None:
        self._staged.append(envelope)

    def publish_all(self, envelopes: list[Envelope]) -> None:
        self._staged.extend(envelopes)

    def claim_all(self, consumer: str, envelopes: list[Envelope]) -> list[bool]:
        return [self.claim(consumer, e) for e in envelopes]

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
        self._snapshot = self._state()
        self.commits += 1

    def rollback(self) -> None:
        if self._snapshot is not None:
            (self.orders.rows, self.clusters.names, self.idempotency.records,
             self.timeline.entries, self.audit.entries) = copy.deepcopy(self._snapshot)
        self._staged, self._claims = [], set()

    def _state(self) -> tuple:  # type: ignore[type-arg]
        return copy.deepcopy((self.orders.rows, self.clusters.names, self.idempotency.records,
                              self.timeline.entries, self.audit.entries))


# --- driving the handlers ---------------------------------------------------------------------
def submit(uow: FakeUnitOfWork, key: str | None = None, **changes) -> tuple[Order, bool]:  # type: ignore[no-untyped-def]
    t = terms(step("cut", process="laser_cutting"), step("weld", "cut", process="welding"))
    cmd = SubmitOrder(buyer_firm_id="b1", buyer_clusters=("qhd-auto",),
                      terms=replace(t, **changes), idempotency_key=key)
    return handlers.submit_order(cmd, uow, now=NOW)


def feed(uow: FakeUnitOfWork, payload: EventPayload) -> Envelope:
    envelope = new_event(payload, key="qhd-auto", producer="test")
    make_event_handler(lambda: uow)(envelope, payload)
    return envelope


def accept_all(uow: FakeUnitOfWork, order_id: str, step_ids: list[str]) -> None:
    """reservation.accepted for each step, the i-th on window w<i> (reservation r<i>)."""
    for i, sid in enumerate(step_ids):
        feed(uow, ReservationAccepted(cluster_id="qhd-auto", order_id=order_id, step_id=sid,
                                      window_id=f"w{i}", hours=6.0, reservation_id=f"r{i}",
                                      factory_id="f1", factory_name="Haigang", price=1080.0))


def work_report(kind: type[ReservationStarted | ReservationCompleted], order_id: str,
                step_id: str, i: int) -> ReservationStarted | ReservationCompleted:
    """The supplier's report of the work on the step accepted on window w<i> (at NOW)."""
    times = {"started_at": NOW} | ({"completed_at": NOW} if kind is ReservationCompleted else {})
    return kind(cluster_id="qhd-auto", order_id=order_id, step_id=step_id, window_id=f"w{i}",
                hours=6.0, reservation_id=f"r{i}", factory_id="f1", **times)


def stored(uow: FakeUnitOfWork, order_id: str) -> Order:
    return uow.orders.rows[order_id]
