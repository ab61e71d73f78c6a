"""Re-publish a service's outbox after the broker lost its topics.

The relay keeps published rows (``published_at`` set) for ``OUTBOX_RETENTION_DAYS``, so every
event a service emitted since a moment within them can be sent again, in its original order,
with its original ``event_id``: consumers that applied it already find it in their inbox (kept
at least as long) and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from shared.messaging.tables import as_stored, outbox


@dataclass(frozen=True)
class ReplayResult:
    events: int
    first_at: datetime | None
    last_at: datetime | None


def replay_outbox(
    engine: Engine,
    publish_batch: Callable[[list[tuple[str, str, bytes]]], None],
    *,
    since: datetime,
    until: datetime | None = None,
    batch_size: int = 500,
) -> ReplayResult:
    """Publish every outbox row created at or after ``since`` (and before ``until``), in id
    order, ``batch_size`` at a time; each batch is acknowledged before the next is read."""
    since_utc = as_stored(engine, since)
    until_utc = as_stored(engine, until) if until is not None else None
    last_id, count = 0, 0
    first_at = last_at = None
    while True:
        query = (sa.select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.body,
                           outbox.c.created_at)
                 .where(outbox.c.created_at >= since_utc, outbox.c.id > last_id)
                 .order_by(outbox.c.id).limit(batch_size))
        if until_utc is not None:
            query = query.where(outbox.c.created_at < until_utc)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return ReplayResult(count, first_at, last_at)
        publish_batch([(r.topic, r.key, r.body.encode("utf-8")) for r in rows])
        count += len(rows)
        first_at = first_at or rows[0].created_at
        last_at = rows[-1].created_at
        last_id = rows[-1].id
