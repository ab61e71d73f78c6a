"""The SQLAlchemy unit of work of the orders service: shared transaction, orders repositories."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Self

from sqlalchemy.orm import Session, sessionmaker

from services.orders.adapters.repository import (
    SqlClusterRepository,
    SqlIdempotencyRepository,
    SqlOrderRepository,
    SqlTimelineRepository,
)
from shared.uow import SqlAlchemyUnitOfWork


class SqlAlchemyOrdersUnitOfWork(SqlAlchemyUnitOfWork):
    """``turns``, when given, is held for the whole unit of work.

    On SQLite every transaction takes the database's single write lock, and a thread that
    finds it taken polls with sleeps of up to 100 ms; while the event consumer applies events
    back to back, an API request can wait seconds that way. Queuing on an in-process lock
    first hands the database over as soon as the holder is done.
    """

    orders: SqlOrderRepository
    clusters: SqlClusterRepository
    idempotency: SqlIdempotencyRepository
    timeline: SqlTimelineRepository

    def __init__(
        self,
        session_factory: sessionmaker,
        *,
        on_commit: Callable[[], None] | None = None,
        turns: threading.RLock | None = None,
    ) -> None:
        super().__init__(session_factory, on_commit=on_commit)
        self._turns = turns

    def __enter__(self) -> Self:
        if self._turns is not None:
            self._turns.acquire()
        try:
            return super().__enter__()
        except BaseException:
            if self._turns is not None:
                self._turns.release()
            raise

    def __exit__(self, *args: Any) -> None:
        try:
            super().__exit__(*args)
        finally:
            if self._turns is not None:
                self._turns.release()

    def _open(self, session: Session) -> None:
        self.orders = SqlOrderRepository(session)
        self.clusters = SqlClusterRepository(session)
        self.idempotency = SqlIdempotencyRepository(session)
        self.timeline = SqlTimelineRepository(session)
