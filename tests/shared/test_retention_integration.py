"""Retention of the outbox and inbox against real databases (SQLite, and PostgreSQL when
configured): what is past retention goes, in batches; what is not, or is unpublished, stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from shared.db import make_engine, run_migrations
from shared.messaging.retention import RetentionWorker, prune_messages
from shared.messaging.tables import as_stored, inbox, messaging_metadata, outbox
from tests.helpers import alembic_config

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(database_url):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    messaging_metadata.create_all(engine)
    yield engine
    engine.dispose()


def _outbox_row(engine: sa.Engine, name: str, *, age_days: float, published: bool) -> dict:
    created = NOW - timedelta(days=age_days)
    return {"event_id": str(uuid.uuid4()), "topic": "orders.v1", "key": name, "type": "t",
            "body": "{}", "created_at": as_stored(engine, created),
            "published_at": as_stored(engine, created + timedelta(seconds=1)) if published
            else None}


def _inbox_row(engine: sa.Engine, name: str, *, age_days: float) -> dict:
    return {"consumer": "orders", "event_id": name, "type": "t",
            "applied_at": as_stored(engine, NOW - timedelta(days=age_days))}


def _fill(engine: sa.Engine, outbox_rows: list[dict], inbox_rows: list[dict]) -> None:
    with engine.begin() as conn:
        if outbox_rows:
            conn.execute(sa.insert(outbox), outbox_rows)
        if inbox_rows:
            conn.execute(sa.insert(inbox), inbox_rows)


def _left(engine: sa.Engine) -> tuple[list[str], list[str]]:
    with engine.connect() as conn:
        return (sorted(conn.execute(sa.select(outbox.c.key)).scalars()),
                sorted(conn.execute(sa.select(inbox.c.event_id)).scalars()))


def test_published_outbox_rows_and_inbox_claims_past_retention_are_deleted(engine) -> None:
    _fill(engine, [
        _outbox_row(engine, "old-published", age_days=15, published=True),
        _outbox_row(engine, "old-unpublished", age_days=40, published=False),
        _outbox_row(engine, "recent-published", age_days=13, published=True),
    ], [
        _inbox_row(engine, "old-claim", age_days=31),
        _inbox_row(engine, "recent-claim", age_days=29),
    ])
    done = prune_messages(engine, outbox_days=14, inbox_days=30, now=NOW)
    assert (done.outbox, done.inbox) == (1, 1)
    assert _left(engine) == (["old-unpublished", "recent-published"], ["recent-claim"])
    # nothing left to prune: a second pass deletes nothing
    assert prune_messages(engine, outbox_days=14, inbox_days=30, now=NOW).outbox == 0


def test_zero_days_keeps_a_table(engine) -> None:
    _fill(engine, [_outbox_row(engine, "ancient", age_days=900, published=True)],
          [_inbox_row(engine, "ancient-claim", age_days=900)])
    done = prune_messages(engine, outbox_days=0, inbox_days=0, now=NOW)
    assert (done.outbox, done.inbox) == (0, 0)
    assert _left(engine) == (["ancient"], ["ancient-claim"])


def test_more_rows_than_a_batch_go_in_several_batches(engine) -> None:
    _fill(engine, [_outbox_row(engine, f"o{i:02d}", age_days=20, published=True)
                   for i in range(23)],
          [_inbox_row(engine, f"i{i:02d}", age_days=40) for i in range(23)]
          + [_inbox_row(engine, "kept", age_days=1)])
    done = prune_messages(engine, outbox_days=14, inbox_days=30, now=NOW, batch_size=5)
    assert (done.outbox, done.inbox) == (23, 23)
    assert _left(engine) == ([], ["kept"])


def test_the_worker_prunes_at_start_and_counts_what_it_deleted(engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(inbox), [
            {"consumer": "orders", "event_id": "old", "type": "t",
             "applied_at": as_stored(engine, now - timedelta(days=31))},
            {"consumer": "orders", "event_id": "new", "type": "t",
             "applied_at": as_stored(engine, now)}])
    worker = RetentionWorker(engine=engine, outbox_days=14, inbox_days=30, interval_s=3600)
    worker.start()
    try:
        for _ in range(200):
            if worker.pruned["inbox"]:
                break
            worker._stop.wait(0.05)
    finally:
        worker.stop()
    assert worker.pruned == {"outbox": 0, "inbox": 1}
    assert _left(engine) == ([], ["new"])


def _inbox_indexes(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        return {i["name"] for i in sa.inspect(engine).get_indexes("inbox")}
    finally:
        engine.dispose()


@pytest.mark.parametrize(("service", "before_index"), [
    ("orders", "orders_0003"), ("capacity", "0003"), ("matcher", "0007_compressed_snapshots")])
def test_every_service_migrates_an_existing_inbox_to_the_age_index(
        database_url: str, service: str, before_index: str) -> None:
    """A database made before the index (its first migration then had none) gets it from the
    service's migration that adds it, which undoes cleanly; a new database has it too."""
    migrations = ROOT / "services" / service / "migrations"
    cfg = alembic_config(database_url, migrations)
    run_migrations(database_url, migrations)
    assert "ix_inbox_applied_at" in _inbox_indexes(database_url)
    command.downgrade(cfg, before_index)  # as an older database: no age index
    assert "ix_inbox_applied_at" not in _inbox_indexes(database_url)
    command.upgrade(cfg, "head")
    assert "ix_inbox_applied_at" in _inbox_indexes(database_url)


def test_pruning_stops_between_batches_when_asked(engine) -> None:
    _fill(engine, [_outbox_row(engine, f"o{i:02d}", age_days=20, published=True)
                   for i in range(12)], [])
    asked = iter([False, True])  # one batch, then the service is stopping
    done = prune_messages(engine, outbox_days=14, inbox_days=30, now=NOW, batch_size=5,
                          stopping=lambda: next(asked, True))
    assert done.outbox == 5
    assert len(_left(engine)[0]) == 7
