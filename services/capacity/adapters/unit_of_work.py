"""The SQLAlchemy unit of work of the capacity service."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from services.capacity.adapters import repository
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate
from shared.audit import SqlAuditLog
from shared.uow import SqlAlchemyUnitOfWork

# PostgreSQL: unique violation, serialization failure, deadlock detected.
_RETRYABLE_SQLSTATES = {"23505", "40001", "40P01"}


class SqlAlchemyCapacityUnitOfWork(SqlAlchemyUnitOfWork):
    def _open(self, session: Session) -> None:
        self.clusters = repository.ClusterRepository(session)
        self.factories = repository.FactoryRepository(session)
        self.machines = repository.MachineRepository(session)
        self.windows = repository.WindowRepository(session)
        self.reservations = repository.ReservationRepository(session)
        self.orders = repository.OrderRepository(session)
        self.audit = SqlAuditLog(session)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        super().__exit__(exc_type, exc, tb)
        if isinstance(exc, DBAPIError) and is_race(exc):
            raise ConcurrentUpdate(str(exc.orig)) from exc


def is_race(exc: DBAPIError) -> bool:
    """A failure that another transaction caused, so that retrying on fresh state may succeed."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _RETRYABLE_SQLSTATES
    # SQLite: writers of this process take turns (shared.db.write_turn), so "database is
    # locked" means another process holds the file: an outage (503, consumer waits), not a race.
    return isinstance(exc, IntegrityError) and "UNIQUE constraint failed" in str(exc.orig)
