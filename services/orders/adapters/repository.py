"""Repositories over SQLAlchemy: rows in, domain objects out."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.orders.adapters.orm import (
    ClusterRow,
    IdempotencyRow,
    OrderRow,
    StepRow,
    TimelineRow,
)
from services.orders.domain.model import Order, Placement, Step
from services.orders.domain.rules import Location, OrderTerms, StepSpec
from services.orders.domain.status import OrderStatus, StepStatus
from services.orders.domain.timeline import TimelineEntry
from services.orders.service_layer.unit_of_work import DuplicateRecord, IdempotencyRecord

ORDERS, STEPS = OrderRow.__table__, StepRow.__table__
_STEP_STATE = sa.update(STEPS).where(STEPS.c.id == sa.bindparam("step_id"))
_ORDER_STATE = sa.update(ORDERS).where(ORDERS.c.id == sa.bindparam("order_id"))


class SqlOrderRepository:
    """Reads and writes go through Core statements, not ORM objects: the consumer applies
    several events per order, and each read or write of an order is then two statements."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        self.add_all([order])

    def add_all(self, orders: Sequence[Order]) -> None:
        """Bulk INSERTs, one executemany per table, so a batch of 1,000 orders stays fast.

        Core table inserts, not the ORM's bulk mode: that one groups rows by which columns are
        not None and sends one INSERT per group change (steps with and without a material)."""
        if not orders:
            return
        self.session.execute(sa.insert(OrderRow.__table__), [_order_values(o) for o in orders])
        self.session.execute(sa.insert(StepRow.__table__), [
            _step_values(o.id, i, s) for o in orders for i, s in enumerate(o.steps)])

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        return self.get_many([order_id], for_update=for_update).get(order_id)

    def get_many(self, order_ids: Collection[str], *, for_update: bool = False
                 ) -> dict[str, Order]:
        wanted = list(set(order_ids))
        if not wanted:
            return {}
        query = sa.select(ORDERS).where(ORDERS.c.id.in_(wanted))
        if for_update:
            query = query.with_for_update()
        rows = self.session.execute(query).all()
        steps: dict[str, list[Any]] = {}
        for s in self.session.execute(sa.select(STEPS).where(STEPS.c.order_id.in_(wanted))
                                      .order_by(STEPS.c.order_id, STEPS.c.position)):
            steps.setdefault(s.order_id, []).append(s)
        return {row.id: _to_order(row, steps.get(row.id, [])) for row in rows}

    def save(self, order: Order) -> None:
        self.save_all([order])

    def save_all(self, orders: Collection[Order]) -> None:
        """Writes what changes after submission (statuses, allocations, the revision that
        replaced an order): one executemany per table for all of ``orders``."""
        if not orders:
            return
        done = self.session.execute(_ORDER_STATE, [
            {"order_id": o.id, "status": o.status.value, "updated_at": o.updated_at,
             "revised_as": o.revised_as} for o in orders])
        if done.rowcount != len(orders):  # both dialects count the rows of an executemany
            raise LookupError(f"{len(orders) - done.rowcount} of the orders are unknown")
        self.session.execute(_STEP_STATE, [{"step_id": s.id, **_step_state(s)}
                                           for o in orders for s in o.steps])

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
        query = sa.select(OrderRow)
        if buyer_firm_id is not None:
            query = query.where(OrderRow.buyer_firm_id == buyer_firm_id)
        if status is not None:
            query = query.where(OrderRow.status == status)
        if cluster_id is not None:
            query = query.where(OrderRow.cluster_id == cluster_id)
        if created_from is not None:
            query = query.where(OrderRow.created_at >= created_from.astimezone(UTC))
        if created_to is not None:
            query = query.where(OrderRow.created_at < created_to.astimezone(UTC))
        if before is not None:
            created_at, order_id = before
            query = query.where(sa.or_(
                OrderRow.created_at < created_at,
                sa.and_(OrderRow.created_at == created_at, OrderRow.id < order_id),
            ))
        query = query.order_by(OrderRow.created_at.desc(), OrderRow.id.desc()).limit(limit)
        return [_to_order(row, row.steps) for row in self.session.scalars(query)]


def _order_values(order: Order) -> dict[str, Any]:
    t = order.terms
    return {
        "id": order.id, "buyer_firm_id": order.buyer_firm_id, "cluster_id": t.cluster_id,
        "title": t.title, "delivery_lat": t.delivery.lat, "delivery_lon": t.delivery.lon,
        "due": t.due, "min_tier": t.min_tier, "certifications": list(t.certifications),
        "max_distance_km": t.max_distance_km, "priority": t.priority, "budget": t.budget,
        "allowed_factories": list(t.allowed_factories),
        "blocked_factories": list(t.blocked_factories), "max_factories": t.max_factories,
        "status": order.status.value, "created_at": order.created_at,
        "updated_at": order.updated_at, "revision_of": order.revision_of,
        "revised_as": order.revised_as,
    }


def _step_values(order_id: str, position: int, step: Step) -> dict[str, Any]:
    return {
        "id": step.id, "order_id": order_id, "position": position, "key": step.key,
        "process": step.process, "material": step.material, "quantity": step.quantity,
        "hours": step.hours, "after": list(step.after), **_step_state(step),
    }


def _step_state(step: Step) -> dict[str, Any]:
    """The columns that change after submission (status, allocation, unplaced reason)."""
    p = step.placement
    return {
        "status": step.status.value,
        "unplaced_reason": step.unplaced_reason, "unplaced_detail": step.unplaced_detail,
        "alloc_hours": p.hours if p else None, "alloc_price": p.price if p else None,
        "window_id": p.window_id if p else None, "factory_id": p.factory_id if p else None,
        "factory_name": p.factory_name if p else None,
        "reservation_id": p.reservation_id if p else None,
        "started_at": step.started_at, "completed_at": step.completed_at,
    }


def _to_order(row: Any, steps: Sequence[Any]) -> Order:
    """An order from its row and its steps' rows (ORM objects or Core rows: same names)."""
    terms = OrderTerms(
        cluster_id=row.cluster_id, title=row.title,
        delivery=Location(row.delivery_lat, row.delivery_lon), due=row.due,
        steps=tuple(StepSpec(key=s.key, process=s.process, quantity=s.quantity, hours=s.hours,
                             material=s.material, after=tuple(s.after)) for s in steps),
        min_tier=row.min_tier, certifications=tuple(row.certifications),
        max_distance_km=row.max_distance_km, priority=row.priority, budget=row.budget,
        allowed_factories=tuple(row.allowed_factories),
        blocked_factories=tuple(row.blocked_factories), max_factories=row.max_factories,
    )
    return Order(id=row.id, buyer_firm_id=row.buyer_firm_id, terms=terms,
                 steps=[_to_step(s) for s in steps], status=OrderStatus(row.status),
                 created_at=row.created_at, updated_at=row.updated_at,
                 revision_of=row.revision_of, revised_as=row.revised_as)


def _to_step(row: Any) -> Step:
    placement = None
    if row.window_id is not None and row.factory_id is not None:
        placement = Placement(
            row.id, row.window_id, row.factory_id, hours=row.alloc_hours or 0.0,
            price=row.alloc_price or 0.0, factory_name=row.factory_name,
            reservation_id=row.reservation_id)
    return Step(id=row.id, key=row.key, process=row.process, material=row.material,
                quantity=row.quantity, hours=row.hours, after=list(row.after),
                status=StepStatus(row.status), placement=placement,
                unplaced_reason=row.unplaced_reason, unplaced_detail=row.unplaced_detail,
                started_at=row.started_at, completed_at=row.completed_at)


class SqlClusterRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def exists(self, cluster_id: str) -> bool:
        query = sa.select(ClusterRow.id).where(ClusterRow.id == cluster_id)  # no ORM load
        return self.session.scalar(query) is not None

    def known_among(self, cluster_ids: Collection[str]) -> set[str]:
        if not cluster_ids:
            return set()
        query = sa.select(ClusterRow.id).where(ClusterRow.id.in_(list(cluster_ids)))
        return set(self.session.scalars(query))

    def upsert(self, cluster_id: str, name: str) -> None:
        self.session.merge(ClusterRow(id=cluster_id, name=name))


class SqlIdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, buyer_firm_id: str, key: str) -> IdempotencyRecord | None:
        row = self.session.get(IdempotencyRow, (buyer_firm_id, key))
        if row is None:
            return None
        return IdempotencyRecord(row.buyer_firm_id, row.key, row.fingerprint, row.order_id,
                                 response=row.response)

    def add(self, record: IdempotencyRecord) -> None:
        self.add_all([record])

    def add_all(self, records: Sequence[IdempotencyRecord]) -> None:
        self.session.flush()  # the orders first: the key rows refer to them
        at = datetime.now(UTC)
        self.session.add_all([IdempotencyRow(
            buyer_firm_id=r.buyer_firm_id, key=r.key, fingerprint=r.fingerprint,
            order_id=r.order_id, response=r.response, created_at=at) for r in records])
        try:
            self.session.flush()  # a concurrent request with the same key fails here
        except IntegrityError as exc:
            raise DuplicateRecord(
                f"idempotency key {', '.join(repr(r.key) for r in records)}") from exc


class SqlTimelineRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_all(self, entries: Sequence[TimelineEntry]) -> None:
        if entries:
            self.session.execute(sa.insert(TimelineRow.__table__), [
                {"order_id": e.order_id, "event_id": e.event_id, "type": e.type,
                 "occurred_at": e.occurred_at, "step_id": e.step_id, "summary": dict(e.summary)}
                for e in entries])

    def page(
        self, order_id: str, *, after: int | None, limit: int
    ) -> list[tuple[int, TimelineEntry]]:
        query = sa.select(TimelineRow).where(TimelineRow.order_id == order_id)
        if after is not None:
            query = query.where(TimelineRow.id > after)
        rows = self.session.scalars(query.order_by(TimelineRow.id).limit(limit))
        return [(r.id, TimelineEntry(order_id=r.order_id, event_id=r.event_id, type=r.type,
                                     occurred_at=r.occurred_at, step_id=r.step_id,
                                     summary=r.summary)) for r in rows]
