"""The SQLAlchemy unit of work of the orders service: shared transaction, orders repositories."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.orders.adapters.repository import (
    SqlClusterRepository,
    SqlIdempotencyRepository,
    SqlOrderRepository,
    SqlTimelineRepository,
)
from shared.audit import SqlAuditLog
from shared.uow import SqlAlchemyUnitOfWork


class SqlAlchemyOrdersUnitOfWork(SqlAlchemyUnitOfWork):
    orders: SqlOrderRepository
    clusters: SqlClusterRepository
    idempotency: SqlIdempotencyRepository
    timeline: SqlTimelineRepository
    audit: SqlAuditLog

    def _open(self, session: Session) -> None:
        self.orders = SqlOrderRepository(session)
        self.clusters = SqlClusterRepository(session)
        self.idempotency = SqlIdempotencyRepository(session)
        self.timeline = SqlTimelineRepository(session)
        self.audit = SqlAuditLog(session)
