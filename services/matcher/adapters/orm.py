"""The matcher's tables: the read model (clusters … steps) and its match runs."""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.matcher.domain.readmodel import UNPLACED
from shared.db import UtcDateTime

Id = String(64)


class CompressedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON document stored zlib-compressed (level 1): a run's snapshot holds every window
    of its cluster, and the paced planning loop stores hundreds of runs a minute under load.
    A 1,563-window snapshot: 333 kB of JSON, 36 kB stored, 1 ms to compress."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)

    def process_result_value(self, value: bytes | None, dialect: Any) -> dict[str, Any] | None:
        return None if value is None else json.loads(zlib.decompress(value))


class Base(DeclarativeBase):
    pass


class ClusterRow(Base):
    __tablename__ = "clusters"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    max_distance_km: Mapped[float] = mapped_column(Float)
    # bumped by every change a plan computed before it may not survive (planning.py)
    plan_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FactoryRow(Base):
    __tablename__ = "factories"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    firm_id: Mapped[str] = mapped_column(Id)
    cluster_id: Mapped[str] = mapped_column(Id, index=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    declared_tier: Mapped[str] = mapped_column(String(20))
    verified_tier: Mapped[str | None] = mapped_column(String(20))
    sme: Mapped[bool]
    certifications: Mapped[list[str]] = mapped_column(JSON)


class MachineRow(Base):
    __tablename__ = "machines"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    factory_id: Mapped[str] = mapped_column(Id, index=True)
    cluster_id: Mapped[str] = mapped_column(Id, index=True)
    name: Mapped[str] = mapped_column(String(200))
    process: Mapped[str] = mapped_column(String(50))
    materials: Mapped[list[str]] = mapped_column(JSON)
    hourly_rate: Mapped[float] = mapped_column(Float)


class WindowRow(Base):
    __tablename__ = "windows"
    __table_args__ = (Index("ix_windows_cluster_end", "cluster_id", "end_at"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    machine_id: Mapped[str] = mapped_column(Id)
    factory_id: Mapped[str] = mapped_column(Id)
    cluster_id: Mapped[str] = mapped_column(Id)
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    end_at: Mapped[datetime] = mapped_column(UtcDateTime())
    hours: Mapped[float] = mapped_column(Float)  # offered


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_submitted", "submitted_at"),
                      Index("ix_orders_first_proposed", "first_proposed_at"))

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    buyer_firm_id: Mapped[str] = mapped_column(Id)
    cluster_id: Mapped[str] = mapped_column(Id, index=True)
    title: Mapped[str] = mapped_column(String(300))
    delivery_lat: Mapped[float] = mapped_column(Float)
    delivery_lon: Mapped[float] = mapped_column(Float)
    due: Mapped[datetime] = mapped_column(UtcDateTime())
    min_tier: Mapped[str] = mapped_column(String(20))
    certifications: Mapped[list[str]] = mapped_column(JSON)
    max_distance_km: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer)
    budget: Mapped[float | None] = mapped_column(Float)
    allowed_factories: Mapped[list[str]] = mapped_column(JSON)
    blocked_factories: Mapped[list[str]] = mapped_column(JSON)
    max_factories: Mapped[int | None] = mapped_column(Integer)
    # the order.submitted event's time (the orders API accepted it), and the first proposal's
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_proposed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# the partial indexes' predicates: started, not completed; unplaced (literal, not a bound
# parameter, so that SQLite's planner can match a query's condition to the index's)
IN_PRODUCTION = text("started_at IS NOT NULL AND completed_at IS NULL")
UNPLACED_STEP = text(f"status = '{UNPLACED}'")


class StepRow(Base):
    __tablename__ = "steps"
    __table_args__ = (Index("ix_steps_cluster_status", "cluster_id", "status"),
                      Index("ix_steps_completed_at", "completed_at"),
                      # the work in production now: a few rows, however many ever were
                      Index("ix_steps_in_production", "status", "started_at",
                            sqlite_where=IN_PRODUCTION, postgresql_where=IN_PRODUCTION),
                      # the orders with an unplaced step now: a few, however many steps exist
                      Index("ix_steps_unplaced", "order_id",
                            sqlite_where=UNPLACED_STEP, postgresql_where=UNPLACED_STEP))

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(Id)
    step_key: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    process: Mapped[str] = mapped_column(String(50))
    material: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)
    after_ids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    window_id: Mapped[str | None] = mapped_column(Id, index=True)
    price: Mapped[float | None] = mapped_column(Float)
    transport_km: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)
    excluded_windows: Mapped[list[str]] = mapped_column(JSON)
    match_run_id: Mapped[str | None] = mapped_column(Id)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the work started
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the work done


class MatchRunRow(Base):
    __tablename__ = "match_runs"
    __table_args__ = (Index("ix_match_runs_started", "started_at", "id"),
                      Index("ix_match_runs_cluster_started", "cluster_id", "started_at"))

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(Id)
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    placed_steps: Mapped[int] = mapped_column(Integer)
    unplaced_steps: Mapped[int] = mapped_column(Integer)
    objective: Mapped[float | None] = mapped_column(Float)
    wall_s: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime())
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the input, as a scenario; loaded only when asked for (a replay), not with every run listed;
    # None once retention deleted it (MATCHER_SNAPSHOT_RETENTION_DAYS)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(CompressedJSON, deferred=True,
                                                            nullable=True)
    bound: Mapped[float | None] = mapped_column(Float, nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ProposalRow(Base):
    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_run_id: Mapped[str] = mapped_column(ForeignKey("match_runs.id"), index=True)
    step_id: Mapped[str] = mapped_column(Id, index=True)
    order_id: Mapped[str] = mapped_column(Id)
    window_id: Mapped[str] = mapped_column(Id)
    machine_id: Mapped[str] = mapped_column(Id)
    factory_id: Mapped[str] = mapped_column(Id)
    hours: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    transport_km: Mapped[float] = mapped_column(Float)


class RunUnplacedRow(Base):
    __tablename__ = "run_unplaced"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_run_id: Mapped[str] = mapped_column(ForeignKey("match_runs.id"), index=True)
    step_id: Mapped[str] = mapped_column(Id)
    order_id: Mapped[str] = mapped_column(Id)
    reason: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(Text)


class ConsumerOffsetRow(Base):
    """The last offset this instance applied per topic partition (read-model rebuild)."""

    __tablename__ = "consumer_offsets"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    offset: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ConsumerTopicRow(Base):
    """The broker's id of each topic the stored offsets came from (a new id: a new log)."""

    __tablename__ = "consumer_topics"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    topic_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
