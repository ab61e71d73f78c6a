"""The migrations build exactly the tables the models describe, and can be undone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from services.orders.adapters.orm import Base, IdempotencyRow, OrderRow, TimelineRow
from services.orders.bootstrap import MIGRATIONS_DIR
from shared.audit import audit_metadata
from shared.db import make_engine, run_migrations
from shared.events import encode, new_event
from shared.events.payloads import OrderSubmitted
from shared.messaging.tables import messaging_metadata, outbox
from tests.helpers import alembic_config, diff_table, migrated_schema

pytestmark = pytest.mark.integration


def test_migrations_match_the_models(database_url: str) -> None:
    (diff, audit_diff), tables = migrated_schema(database_url, MIGRATIONS_DIR, Base.metadata,
                                                 audit_metadata)
    assert [d for d in diff if not _messaging(d) and diff_table(d) != "audit_log"] == []
    assert [d for d in audit_diff if diff_table(d) == "audit_log"] == []
    assert {"orders", "order_steps", "clusters", "idempotency_keys", "order_timeline", "outbox",
            "inbox", "audit_log"} <= tables


def _config(database_url: str) -> Config:
    return alembic_config(database_url, MIGRATIONS_DIR)


def test_downgrade_removes_every_table(database_url: str) -> None:
    run_migrations(database_url, MIGRATIONS_DIR)
    command.downgrade(_config(database_url), "base")
    engine = make_engine(database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables <= {"alembic_version"}
    run_migrations(database_url, MIGRATIONS_DIR)  # and up again


def test_0002_keeps_existing_orders_and_backfills_their_timeline(database_url: str) -> None:
    cfg = _config(database_url)
    command.upgrade(cfg, "orders_0001")
    now = datetime.now(UTC)
    submitted = new_event(OrderSubmitted(
        order_id="ord_old", buyer_firm_id="firm-b1", cluster_id="qhd-auto", title="Old",
        delivery_lat=39.9, delivery_lon=119.5, due=now + timedelta(days=3), min_tier="basic",
        certifications=[], max_distance_km=60, priority=3, budget=None, allowed_factories=[],
        blocked_factories=[], max_factories=None, steps=[]), key="qhd-auto", producer="orders")
    gone = new_event(submitted.parsed().model_copy(update={"order_id": "ord_gone"}),
                     key="qhd-auto", producer="orders")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(OrderRow.__table__).values(
                id="ord_old", buyer_firm_id="firm-b1", cluster_id="qhd-auto", title="Old",
                delivery_lat=39.9, delivery_lon=119.5, due=now, min_tier="basic",
                certifications=[], max_distance_km=60, priority=3, allowed_factories=[],
                blocked_factories=[], status="submitted", created_at=now, updated_at=now))
            conn.execute(sa.insert(outbox), [
                {"event_id": str(e.event_id), "topic": "orders.v1", "key": "qhd-auto",
                 "type": e.type, "body": encode(e).decode(), "created_at": now}
                for e in (submitted, gone)])
            conn.execute(sa.text(
                "INSERT INTO idempotency_keys (buyer_firm_id, key, fingerprint, order_id, "
                "created_at) VALUES ('firm-b1', 'k1', 'f', 'ord_old', :now)"), {"now": now})
        command.upgrade(cfg, "head")
        with engine.begin() as conn:
            rows = conn.execute(sa.select(TimelineRow.order_id, TimelineRow.event_id,
                                          TimelineRow.type, TimelineRow.summary)).all()
            assert [tuple(r) for r in rows] == [
                ("ord_old", str(submitted.event_id), "order.submitted", {"steps": 0})]
            conn.execute(sa.insert(IdempotencyRow.__table__).values(
                buyer_firm_id="firm-b1", key="k2", fingerprint="f", order_id=None,
                response="[]", created_at=now))
        command.downgrade(cfg, "orders_0001")
        with engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT key FROM idempotency_keys")).scalars().all()
            assert keys == ["k1"]
            assert "order_timeline" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _messaging(diff: tuple) -> bool:  # type: ignore[type-arg]
    """Outbox and inbox belong to shared.messaging, not to the orders models."""
    return diff_table(diff) in messaging_metadata.tables
