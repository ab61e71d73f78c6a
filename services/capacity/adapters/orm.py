"""SQLAlchemy 2 models of the capacity database (own ``Base``; outbox/inbox live in shared)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime

ACTIVE_STATUSES = "status IN ('held', 'accepted')"


class Base(DeclarativeBase):
    pass


class ClusterRow(Base):
    __tablename__ = "clusters"

    id: Mapped[str] = mapped_column(sa.String(63), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    max_distance_km: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FactoryRow(Base):
    __tablename__ = "factories"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    firm_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    cluster_id: Mapped[str] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    declared_tier: Mapped[str] = mapped_column(sa.String(20))
    verified_tier: Mapped[str | None] = mapped_column(sa.String(20))
    tier_verification_pending: Mapped[bool]
    sme: Mapped[bool]
    certifications: Mapped[list[str]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MachineRow(Base):
    __tablename__ = "machines"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    factory_id: Mapped[str] = mapped_column(sa.ForeignKey("factories.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    process: Mapped[str] = mapped_column(sa.String(50))
    materials: Mapped[list[str]] = mapped_column(sa.JSON)
    hourly_rate: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WindowRow(Base):
    __tablename__ = "windows"
    __table_args__ = (
        sa.Index("ix_windows_machine_start", "machine_id", "starts_at"),
        # The invariant, also enforced by the database (tolerance for float sums).
        sa.CheckConstraint(
            "held_hours >= 0 AND accepted_hours >= 0 "
            "AND held_hours + accepted_hours <= hours + 0.000001",
            name="ck_windows_hours_within_offer",
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    machine_id: Mapped[str] = mapped_column(sa.ForeignKey("machines.id"))
    start: Mapped[datetime] = mapped_column("starts_at", UtcDateTime())
    end: Mapped[datetime] = mapped_column("ends_at", UtcDateTime())
    hours: Mapped[float]
    held_hours: Mapped[float] = mapped_column(default=0.0)
    accepted_hours: Mapped[float] = mapped_column(default=0.0)
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ReservationRow(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        # At most one active (held or accepted) reservation per step: catches racing proposals.
        sa.Index("uq_reservations_active_step", "step_id", unique=True,
                 sqlite_where=sa.text(ACTIVE_STATUSES),
                 postgresql_where=sa.text(ACTIVE_STATUSES)),
        sa.Index("ix_reservations_factory_status", "factory_id", "status"),
        sa.Index("ix_reservations_status_expires", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    step_id: Mapped[str] = mapped_column(sa.String(100))
    window_id: Mapped[str] = mapped_column(sa.ForeignKey("windows.id"), index=True)
    factory_id: Mapped[str] = mapped_column(sa.ForeignKey("factories.id"))
    cluster_id: Mapped[str] = mapped_column(sa.String(63))
    hours: Mapped[float]
    price: Mapped[float]
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    match_run_id: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    job: Mapped[dict | None] = mapped_column(sa.JSON)  # reservations.Job, due in ISO-8601
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OrderRow(Base):
    """An order capacity has heard of (a proposal or a cancellation): the row both lock."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(sa.String(63))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
