"""Transactional outbox: events are rows written with the state change, published by a relay.

Published rows are kept (``published_at`` set) so a service can re-publish after a broker loss,
for ``OUTBOX_RETENTION_DAYS`` (shared/messaging/retention.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shared.background import BackgroundWorker
from shared.db import insert_new, write_turn
from shared.events import Envelope, encode, topic_of
from shared.messaging.tables import inbox, outbox

logger = logging.getLogger(__name__)


def add_to_outbox(session: Session, envelope: Envelope) -> None:
    """Write ``envelope`` in the caller's transaction; the relay publishes it after commit."""
    session.execute(sa.insert(outbox).values(**_outbox_row(envelope, datetime.now(UTC))))


def add_all_to_outbox(session: Session, envelopes: Sequence[Envelope]) -> None:
    """Write many envelopes in the caller's transaction with one multi-row INSERT, in order."""
    if envelopes:
        now = datetime.now(UTC)
        session.execute(sa.insert(outbox), [_outbox_row(e, now) for e in envelopes])


def _outbox_row(envelope: Envelope, now: datetime) -> dict[str, object]:
    return {
        "event_id": str(envelope.event_id),
        "topic": topic_of(envelope.type),
        "key": envelope.key,
        "type": envelope.type,
        "body": encode(envelope).decode("utf-8"),
        "created_at": now,
    }


def claim_in_inbox(session: Session, *, consumer: str, envelope: Envelope) -> bool:
    """Record that ``consumer`` applies this event, in the caller's transaction.

    Returns False when it was applied before: the caller then changes nothing. One statement
    (INSERT … ON CONFLICT DO NOTHING RETURNING, on SQLite and PostgreSQL alike): a row
    returned is a claim.
    """
    return claim_all_in_inbox(session, consumer=consumer, envelopes=[envelope])[0]


def claim_all_in_inbox(session: Session, *, consumer: str, envelopes: Sequence[Envelope]
                       ) -> list[bool]:
    """``claim_in_inbox`` for several events with one statement: for each envelope, in order,
    whether this is its claim (False when it was applied before, or repeats an earlier one)."""
    if not envelopes:
        return []
    now = datetime.now(UTC)
    rows = {str(e.event_id): {"consumer": consumer, "event_id": str(e.event_id),
                              "type": e.type, "applied_at": now} for e in envelopes}
    done = session.execute(insert_new(inbox, session.get_bind().dialect.name),
                           list(rows.values()))
    new = {row.event_id for row in done}
    claims = []
    for e in envelopes:
        event_id = str(e.event_id)
        claims.append(event_id in new)
        new.discard(event_id)
    return claims


Publish = Callable[[str, str, bytes], None]  # (topic, key, value) → returns once acknowledged


class OutboxRelay(BackgroundWorker):
    """Publishes unpublished outbox rows in id order, then marks them published.

    Runs in a daemon thread; ``wake()`` (called after a commit that wrote events) makes it
    publish at once instead of at the next poll.
    """

    thread_name = "outbox-relay"

    def __init__(
        self,
        *,
        engine: Engine,
        publish_batch: Callable[[list[tuple[str, str, bytes]]], None],
        poll_interval_s: float = 0.5,
        batch_size: int = 500,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._publish_batch = publish_batch
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._wake = threading.Event()
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    def _interrupt(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.relay_once() == self._batch_size and not self._stop.is_set():
                    pass
            except Exception:  # the relay must outlive a broker or database hiccup
                logger.exception("outbox relay failed; retrying")
                self._stop.wait(min(5.0, self._poll_interval_s * 4))
            self._wake.wait(self._poll_interval_s)
            self._wake.clear()

    def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published.

        On PostgreSQL the batch stays row-locked (SKIP LOCKED) while it is published, so several
        relays never publish the same rows. On SQLite (one process per database) the rows are
        read, published and marked in separate steps, so writers do not wait for the broker;
        a crash between publishing and marking publishes those rows again, which the
        consumers' inbox makes harmless.
        """
        query = (
            sa.select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.body)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self._batch_size)
        )
        if self._engine.dialect.name == "postgresql":
            with self._engine.begin() as conn:
                rows = conn.execute(query.with_for_update(skip_locked=True)).all()
                self._publish(rows)
                self._mark_published(conn, rows)
        else:
            with write_turn(self._engine), self._engine.begin() as conn:
                rows = conn.execute(query).all()
            self._publish(rows)
            with write_turn(self._engine), self._engine.begin() as conn:
                self._mark_published(conn, rows)
        self.published += len(rows)
        return len(rows)

    def _publish(self, rows: Sequence[sa.Row]) -> None:
        if rows:
            self._publish_batch([(r.topic, r.key, r.body.encode("utf-8")) for r in rows])

    @staticmethod
    def _mark_published(conn: sa.Connection, rows: Sequence[sa.Row]) -> None:
        if rows:
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(published_at=datetime.now(UTC))
            )

    def unpublished_count(self) -> int:
        with self._engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(outbox).where(
                    outbox.c.published_at.is_(None)
                )
            ).scalar_one()
