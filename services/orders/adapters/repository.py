"""Repositories over SQLAlchemy: rows in, domain objects out."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.orders.adapters.orm import ClusterRow, IdempotencyRow, OrderRow, StepRow
from services.orders.domain.model import Order, Placement, Step
from services.orders.domain.rules import Location, OrderTerms, StepSpec
from services.orders.domain.status import OrderStatus, StepStatus
from services.orders.service_layer.unit_of_work import DuplicateRecord, IdempotencyRecord


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlOrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        t = order.terms
        row = OrderRow(
            id=order.id, buyer_firm_id=order.buyer_firm_id, cluster_id=t.cluster_id,
            title=t.title, delivery_lat=t.delivery.lat, delivery_lon=t.delivery.lon, due=t.due,
            min_tier=t.min_tier, certifications=list(t.certifications),
            max_distance_km=t.max_distance_km, priority=t.priority, budget=t.budget,
            allowed_factories=list(t.allowed_factories),
            blocked_factories=list(t.blocked_factories), max_factories=t.max_factories,
            created_at=order.created_at,
            steps=[StepRow(id=s.id, position=i, key=s.key, process=s.process,
                           material=s.material, quantity=s.quantity, hours=s.hours,
                           after=list(s.after)) for i, s in enumerate(order.steps)],
        )
        _write_state(row, order)
        self.session.add(row)

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        query = sa.select(OrderRow).where(OrderRow.id == order_id)
        if for_update:
            query = query.with_for_update(of=OrderRow)
        row = self.session.scalars(query).one_or_none()
        return _to_order(row) if row is not None else None

    def save(self, order: Order) -> None:
        row = self.session.get(OrderRow, order.id)
        if row is None:
            raise LookupError(order.id)
        _write_state(row, order)

    def page(
        self,
        *,
        buyer_firm_id: str | None,
        status: str | None,
        cluster_id: str | None,
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
        if before is not None:
            created_at, order_id = before
            query = query.where(sa.or_(
                OrderRow.created_at < created_at,
                sa.and_(OrderRow.created_at == created_at, OrderRow.id < order_id),
            ))
        query = query.order_by(OrderRow.created_at.desc(), OrderRow.id.desc()).limit(limit)
        return [_to_order(row) for row in self.session.scalars(query)]


def _write_state(row: OrderRow, order: Order) -> None:
    """Copy what changes after submission (statuses, allocations) onto the rows."""
    row.status = order.status.value
    row.updated_at = order.updated_at
    step_rows = {r.id: r for r in row.steps}
    for step in order.steps:
        r, p = step_rows[step.id], step.placement
        r.status = step.status.value
        r.unplaced_reason, r.unplaced_detail = step.unplaced_reason, step.unplaced_detail
        r.alloc_hours = p.hours if p else None
        r.alloc_price = p.price if p else None
        r.window_id = p.window_id if p else None
        r.factory_id = p.factory_id if p else None
        r.factory_name = p.factory_name if p else None
        r.reservation_id = p.reservation_id if p else None


def _to_order(row: OrderRow) -> Order:
    terms = OrderTerms(
        cluster_id=row.cluster_id, title=row.title,
        delivery=Location(row.delivery_lat, row.delivery_lon), due=_utc(row.due),
        steps=tuple(StepSpec(key=s.key, process=s.process, quantity=s.quantity, hours=s.hours,
                             material=s.material, after=tuple(s.after)) for s in row.steps),
        min_tier=row.min_tier, certifications=tuple(row.certifications),
        max_distance_km=row.max_distance_km, priority=row.priority, budget=row.budget,
        allowed_factories=tuple(row.allowed_factories),
        blocked_factories=tuple(row.blocked_factories), max_factories=row.max_factories,
    )
    return Order(id=row.id, buyer_firm_id=row.buyer_firm_id, terms=terms,
                 steps=[_to_step(s) for s in row.steps], status=OrderStatus(row.status),
                 created_at=_utc(row.created_at), updated_at=_utc(row.updated_at))


def _to_step(row: StepRow) -> Step:
    placement = None
    if row.window_id is not None and row.factory_id is not None:
        placement = Placement(
            row.id, row.window_id, row.factory_id, hours=row.alloc_hours or 0.0,
            price=row.alloc_price or 0.0, factory_name=row.factory_name,
            reservation_id=row.reservation_id)
    return Step(id=row.id, key=row.key, process=row.process, material=row.material,
                quantity=row.quantity, hours=row.hours, after=list(row.after),
                status=StepStatus(row.status), placement=placement,
                unplaced_reason=row.unplaced_reason, unplaced_detail=row.unplaced_detail)


class SqlClusterRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def exists(self, cluster_id: str) -> bool:
        return self.session.get(ClusterRow, cluster_id) is not None

    def upsert(self, cluster_id: str, name: str) -> None:
        self.session.merge(ClusterRow(id=cluster_id, name=name))


class SqlIdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, buyer_firm_id: str, key: str) -> IdempotencyRecord | None:
        row = self.session.get(IdempotencyRow, (buyer_firm_id, key))
        if row is None:
            return None
        return IdempotencyRecord(row.buyer_firm_id, row.key, row.fingerprint, row.order_id)

    def add(self, record: IdempotencyRecord) -> None:
        self.session.flush()  # the order first: the key row refers to it
        self.session.add(IdempotencyRow(
            buyer_firm_id=record.buyer_firm_id, key=record.key, fingerprint=record.fingerprint,
            order_id=record.order_id, created_at=datetime.now(UTC)))
        try:
            self.session.flush()  # a concurrent request with the same key fails here
        except IntegrityError as exc:
            raise DuplicateRecord(f"idempotency key {record.key!r}") from exc
