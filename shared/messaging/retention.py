"""Retention of the outbox and the inbox: without it both grow by a row per event for ever.

* Outbox: a published row older than ``OUTBOX_RETENTION_DAYS`` is deleted. Unpublished rows
  are never deleted, however old. ``sharefab replay-outbox`` re-publishes from the rows kept,
  so the retention is also how far back a replay after a broker loss can reach.
* Inbox: a claim older than ``INBOX_RETENTION_DAYS`` is deleted; an event delivered again after
  that would be applied again. The setting must therefore outlast both the outbox retention
  (what a replay can send again) and the broker's own retention (what a consumer can read
  again); the settings refuse an inbox retention shorter than the outbox's.

``0`` keeps a table for ever. Rows go in batches, each in its own short transaction, so
writers never wait long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from shared.background import PeriodicWorker, drain
from shared.db import write_turn
from shared.messaging.tables import as_stored, inbox, outbox

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000  # rows per DELETE


@dataclass(frozen=True)
class Pruned:
    outbox: int = 0
    inbox: int = 0


def prune_messages(
    engine: Engine,
    *,
    outbox_days: float,
    inbox_days: float,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    stopping: Callable[[], bool] = lambda: False,
) -> Pruned:
    """Delete what is past retention (``0`` days: keep everything); answers how many rows.
    ``stopping`` is asked between batches: a first run on years of rows ends at a shutdown."""
    at = now or datetime.now(UTC)
    pruned_outbox = pruned_inbox = 0
    if outbox_days > 0:
        cutoff = as_stored(engine, at - timedelta(days=outbox_days))
        pruned_outbox = _delete_in_batches(engine, sa.delete(outbox).where(outbox.c.id.in_(
            sa.select(outbox.c.id)
            .where(outbox.c.published_at.is_not(None), outbox.c.created_at < cutoff)
            .order_by(outbox.c.id).limit(batch_size))), batch_size, stopping)
    if inbox_days > 0:
        cutoff = as_stored(engine, at - timedelta(days=inbox_days))
        pruned_inbox = _delete_in_batches(engine, sa.delete(inbox).where(
            sa.tuple_(inbox.c.consumer, inbox.c.event_id).in_(
                sa.select(inbox.c.consumer, inbox.c.event_id)
                .where(inbox.c.applied_at < cutoff).limit(batch_size))), batch_size, stopping)
    return Pruned(outbox=pruned_outbox, inbox=pruned_inbox)


def _delete_in_batches(engine: Engine, statement: sa.Delete, batch_size: int,
                       stopping: Callable[[], bool]) -> int:
    def batch() -> int:
        with write_turn(engine), engine.begin() as conn:
            return conn.execute(statement).rowcount

    return drain(batch, size=batch_size, stopping=stopping)


class RetentionWorker(PeriodicWorker):
    """Prunes the outbox and inbox at start and then every ``interval_s``; ``pruned`` counts
    the rows deleted so far per table (exported as ``sharefab_retention_pruned_rows``)."""

    thread_name = "retention"

    def __init__(self, *, engine: Engine, outbox_days: float, inbox_days: float,
                 interval_s: float) -> None:
        super().__init__(interval_s=interval_s, tick_at_start=True)
        self._engine = engine
        self._outbox_days = outbox_days
        self._inbox_days = inbox_days
        self.pruned = {"outbox": 0, "inbox": 0}

    def tick(self) -> Pruned:
        done = prune_messages(self._engine, outbox_days=self._outbox_days,
                              inbox_days=self._inbox_days, stopping=self._stop.is_set)
        self.pruned["outbox"] += done.outbox
        self.pruned["inbox"] += done.inbox
        if done.outbox or done.inbox:
            logger.info("retention: %d outbox and %d inbox rows deleted",
                        done.outbox, done.inbox)
        return done
