"""The matcher's migrations build the tables its models describe; 0007 compresses the stored
match-run snapshots without changing one, and its downgrade gives them back as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from services.matcher.adapters.orm import Base, MatchRunRow
from services.matcher.bootstrap import MIGRATIONS_DIR
from services.matcher.solver.generate import generate
from shared.db import make_engine
from tests.helpers import alembic_config, diff_table, migrated_schema

pytestmark = pytest.mark.integration

BEFORE = "0006_cluster_plan_epoch"


def test_migrations_match_the_models(database_url: str) -> None:
    (diff,), _tables = migrated_schema(database_url, MIGRATIONS_DIR, Base.metadata)
    # outbox and inbox belong to shared.messaging, not to the matcher's models
    assert [d for d in diff if diff_table(d) in Base.metadata.tables] == []


def _snapshot() -> dict[str, Any]:
    """A run's input as the loop stores it: a whole generated cluster (40 factories)."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return json.loads(json.dumps(generate(factories=40, orders=30, seed=3, now=now)))


def _run(run_id: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)
    return {"id": run_id, "cluster_id": "qhd-auto", "trigger": "interval", "status": "optimal",
            "placed_steps": 1, "unplaced_steps": 0, "objective": 1.0, "wall_s": 0.1,
            "started_at": at, "finished_at": at, "parameters": {"time_limit_s": 2.0},
            "snapshot": snapshot}


def test_0007_compresses_stored_snapshots_and_its_downgrade_restores_them(
        database_url: str) -> None:
    cfg = alembic_config(database_url, MIGRATIONS_DIR)
    command.upgrade(cfg, BEFORE)
    snapshot = _snapshot()
    json_columns = ("parameters", "snapshot")
    old_runs = sa.table("match_runs", *[sa.column(c, sa.JSON if c in json_columns else None)
                                        for c in _run("x", {})])
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(old_runs), [_run("run_a", snapshot), _run("run_b", {})])
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            stored = dict(conn.execute(sa.select(MatchRunRow.id, MatchRunRow.snapshot)).all())
            raw = conn.scalar(sa.select(sa.func.length(sa.column("snapshot")))
                              .select_from(sa.table("match_runs"))
                              .where(sa.column("id") == "run_a"))
        assert stored == {"run_a": snapshot, "run_b": {}}
        assert raw * 5 < len(json.dumps(snapshot))  # stored compressed
        command.downgrade(cfg, BEFORE)
        with engine.connect() as conn:
            back = dict(conn.execute(sa.select(old_runs.c.id, old_runs.c.snapshot)).all())
        assert back == {"run_a": snapshot, "run_b": {}}
    finally:
        engine.dispose()
