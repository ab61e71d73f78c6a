"""The matcher's unit of work: shared's SQLAlchemy transaction (outbox + inbox) plus its
repositories."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.matcher.adapters.repository import SqlMatchRuns, SqlReadModel
from shared.uow import SqlAlchemyUnitOfWork


class MatcherUnitOfWork(SqlAlchemyUnitOfWork):
    read_model: SqlReadModel
    runs: SqlMatchRuns

    def _open(self, session: Session) -> None:
        self.read_model = SqlReadModel(session)
        self.runs = SqlMatchRuns(session)
