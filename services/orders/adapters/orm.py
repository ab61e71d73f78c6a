"""SQLAlchemy 2 models of the orders database (the Alembic migrations create these tables)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class ClusterRow(Base):
    """A cluster, learnt from capacity's cluster.created events."""

    __tablename__ = "clusters"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_created", "created_at", "id"),
        Index("ix_orders_buyer_created", "buyer_firm_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    buyer_firm_id: Mapped[str] = mapped_column(String(100))
    cluster_id: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(200))
    delivery_lat: Mapped[float] = mapped_column(Float)
    delivery_lon: Mapped[float] = mapped_column(Float)
    due: Mapped[datetime] = mapped_column(UtcDateTime())
    min_tier: Mapped[str] = mapped_column(String(20))
    certifications: Mapped[list[str]] = mapped_column(JSON)
    max_distance_km: Mapped[float] = mapped_column(Float)
    priority: Mapped[int]
    budget: Mapped[float | None] = mapped_column(Float)
    allowed_factories: Mapped[list[str]] = mapped_column(JSON)
    blocked_factories: Mapped[list[str]] = mapped_column(JSON)
    max_factories: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(30), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revision_of: Mapped[str | None] = mapped_column(String(40))
    revised_as: Mapped[str | None] = mapped_column(String(40))

    steps: Mapped[list[StepRow]] = relationship(
        order_by="StepRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class StepRow(Base):
    __tablename__ = "order_steps"
    __table_args__ = (UniqueConstraint("order_id", "key", name="uq_order_steps_order_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(64))
    process: Mapped[str] = mapped_column(String(50))
    material: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int]
    hours: Mapped[float] = mapped_column(Float)
    after: Mapped[list[str]] = mapped_column(JSON)  # keys of steps of the same order
    status: Mapped[str] = mapped_column(String(20))
    # The allocation; window, factory and reservation stay internal until accepted.
    alloc_hours: Mapped[float | None] = mapped_column(Float)
    alloc_price: Mapped[float | None] = mapped_column(Float)
    window_id: Mapped[str | None] = mapped_column(String(100))
    factory_id: Mapped[str | None] = mapped_column(String(100))
    factory_name: Mapped[str | None] = mapped_column(String(200))
    reservation_id: Mapped[str | None] = mapped_column(String(100))
    unplaced_reason: Mapped[str | None] = mapped_column(String(50))
    unplaced_detail: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the supplier's work
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class IdempotencyRow(Base):
    """An Idempotency-Key a buyer firm used, the hash of its body and what it made: the order
    of a POST /orders, or a batch's result."""

    __tablename__ = "idempotency_keys"

    buyer_firm_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TimelineRow(Base):
    """One event that touched an order, with a summary the buyer may read."""

    __tablename__ = "order_timeline"
    __table_args__ = (
        UniqueConstraint("order_id", "event_id", name="uq_order_timeline_event"),
        Index("ix_order_timeline_order", "order_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    step_id: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[dict] = mapped_column(JSON)  # type: ignore[type-arg]
