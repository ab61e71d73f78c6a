"""The audit log (who did what, when) that orders and capacity keep in their own databases.

A handler adds an ``AuditEntry`` through its unit of work, so the row is written in the same
transaction as the change it records: no change without its entry, no entry without the change.
The operator reads it through ``GET /v1/audit`` (``shared.audit_api``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.db import UtcDateTime
from shared.logs import correlation_id

audit_metadata = sa.MetaData()

audit_log = sa.Table(
    "audit_log",
    audit_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),  # the token's sub (a firm id)
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),  # e.g. reservation.accepted
    sa.Column("object_type", sa.String(50), nullable=False),
    sa.Column("object_id", sa.String(100), nullable=False),
    sa.Column("correlation_id", sa.String(200), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.Index("ix_audit_log_object", "object_id", "id"),
    sa.Index("ix_audit_log_actor", "actor", "id"),
    sa.Index("ix_audit_log_at", "at"),
)


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None  # the request's X-Correlation-ID when not given
    id: int | None = None


class AuditLog(Protocol):
    """The port: units of work expose one as ``uow.audit``."""

    def add(self, entry: AuditEntry) -> None: ...

    def page(self, where: AuditFilter, *, before_id: int | None,
             limit: int) -> list[AuditEntry]: ...


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    object_id: str | None = None
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before


class SqlAuditLog:
    """The audit repository a unit of work attaches to its session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        current = correlation_id.get()
        self.session.execute(sa.insert(audit_log).values(
            at=entry.at, actor=entry.actor, role=entry.role, action=entry.action,
            object_type=entry.object_type, object_id=entry.object_id, detail=entry.detail,
            correlation_id=entry.correlation_id or (current if current != "-" else None)))

    def page(self, where: AuditFilter, *, before_id: int | None, limit: int) -> list[AuditEntry]:
        """Newest first; ``before_id`` is the id of the last entry already seen."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        for column, value in (("actor", where.actor), ("action", where.action),
                              ("object_id", where.object_id)):
            if value is not None:
                query = query.where(audit_log.c[column] == value)
        if where.since is not None:
            query = query.where(audit_log.c.at >= where.since)
        if where.until is not None:
            query = query.where(audit_log.c.at < where.until)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        return [AuditEntry(**row._mapping) for row in self.session.execute(query)]
