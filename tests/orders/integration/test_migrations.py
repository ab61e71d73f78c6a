"""The migrations build exactly the tables the models describe, and can be undone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from services.orders.adapters.orm import Base
from services.orders.bootstrap import MIGRATIONS_DIR
from shared.db import make_engine, run_migrations
from shared.messaging.tables import messaging_metadata

pytestmark = pytest.mark.integration


def test_migrations_match_the_models(database_url: str) -> None:
    run_migrations(database_url, MIGRATIONS_DIR)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert [d for d in diff if not _messaging(d)] == []
    assert {"orders", "order_steps", "clusters", "idempotency_keys", "outbox",
            "inbox"} <= tables


def test_downgrade_removes_every_table(database_url: str) -> None:
    run_migrations(database_url, MIGRATIONS_DIR)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.downgrade(cfg, "base")
    engine = make_engine(database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables <= {"alembic_version"}
    run_migrations(database_url, MIGRATIONS_DIR)  # and up again


def _messaging(diff: tuple) -> bool:  # type: ignore[type-arg]
    """Outbox and inbox belong to shared.messaging, not to the orders models."""
    kind, obj = diff[0], diff[1]
    table = obj if kind == "remove_table" else getattr(obj, "table", None)
    return table is not None and table.name in messaging_metadata.tables
