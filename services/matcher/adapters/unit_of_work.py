"""The matcher's unit of work: shared's SQLAlchemy transaction (outbox + inbox) plus its
repositories."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from services.matcher.adapters.repository import SqlConsumerOffsets, SqlMatchRuns, SqlReadModel
from services.matcher.adapters.stats_queries import SqlStats
from shared.messaging.partitions import RecordPosition
from shared.uow import SqlAlchemyUnitOfWork


class MatcherUnitOfWork(SqlAlchemyUnitOfWork):
    read_model: SqlReadModel
    runs: SqlMatchRuns
    offsets: SqlConsumerOffsets
    stats: SqlStats

    def _open(self, session: Session) -> None:
        self.read_model = SqlReadModel(session)
        self.runs = SqlMatchRuns(session)
        self.offsets = SqlConsumerOffsets(session)
        self.stats = SqlStats(session)


class UowOffsetStore:
    """The consumer's view of the stored offsets (``shared.messaging.partitions.OffsetStore``)."""

    def __init__(self, uow_factory: Callable[[], MatcherUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    def load(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        with self._uow_factory() as uow:
            return uow.offsets.load(partitions)

    def check_topic_ids(self, current: Mapping[str, str]) -> set[str]:
        with self._uow_factory() as uow:
            recreated = uow.offsets.check_topic_ids(current)
            uow.commit()
        return recreated

    def save(self, position: RecordPosition) -> None:
        with self._uow_factory() as uow:
            uow.offsets.record(topic=position.topic, partition=position.partition,
                               offset=position.offset)
            uow.commit()
