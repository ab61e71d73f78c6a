"""The matcher's read model, match runs, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "clusters",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("max_distance_km", sa.Float(), nullable=False),
    )
    op.create_table(
        "factories",
        sa.Column("id", ID, primary_key=True),
        sa.Column("firm_id", ID, nullable=False),
        sa.Column("cluster_id", ID, nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("declared_tier", sa.String(20), nullable=False),
        sa.Column("verified_tier", sa.String(20), nullable=True),
        sa.Column("sme", sa.Boolean(), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
    )
    op.create_table(
        "machines",
        sa.Column("id", ID, primary_key=True),
        sa.Column("factory_id", ID, nullable=False, index=True),
        sa.Column("cluster_id", ID, nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("process", sa.String(50), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("hourly_rate", sa.Float(), nullable=False),
    )
    op.create_table(
        "windows",
        sa.Column("id", ID, primary_key=True),
        sa.Column("machine_id", ID, nullable=False),
        sa.Column("factory_id", ID, nullable=False),
        sa.Column("cluster_id", ID, nullable=False),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Index("ix_windows_cluster_end", "cluster_id", "end_at"),
    )
    op.create_table(
        "orders",
        sa.Column("id", ID, primary_key=True),
        sa.Column("buyer_firm_id", ID, nullable=False),
        sa.Column("cluster_id", ID, nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("delivery_lat", sa.Float(), nullable=False),
        sa.Column("delivery_lon", sa.Float(), nullable=False),
        sa.Column("due", TS, nullable=False),
        sa.Column("min_tier", sa.String(20), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("max_distance_km", sa.Float(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("allowed_factories", sa.JSON(), nullable=False),
        sa.Column("blocked_factories", sa.JSON(), nullable=False),
        sa.Column("max_factories", sa.Integer(), nullable=True),
    )
    op.create_table(
        "steps",
        sa.Column("id", ID, primary_key=True),
        sa.Column("order_id", ID, sa.ForeignKey("orders.id"), nullable=False, index=True),
        sa.Column("cluster_id", ID, nullable=False),
        sa.Column("step_key", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(50), nullable=False),
        sa.Column("material", sa.String(100), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("after_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("window_id", ID, nullable=True, index=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("transport_km", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(50), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("excluded_windows", sa.JSON(), nullable=False),
        sa.Column("match_run_id", ID, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Index("ix_steps_cluster_status", "cluster_id", "status"),
    )
    op.create_table(
        "match_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("cluster_id", ID, nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("placed_steps", sa.Integer(), nullable=False),
        sa.Column("unplaced_steps", sa.Integer(), nullable=False),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("wall_s", sa.Float(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Index("ix_match_runs_started", "started_at", "id"),
        sa.Index("ix_match_runs_cluster_started", "cluster_id", "started_at"),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("match_run_id", ID, sa.ForeignKey("match_runs.id"), nullable=False,
                  index=True),
        sa.Column("step_id", ID, nullable=False, index=True),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("window_id", ID, nullable=False),
        sa.Column("machine_id", ID, nullable=False),
        sa.Column("factory_id", ID, nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("transport_km", sa.Float(), nullable=False),
    )
    op.create_table(
        "run_unplaced",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("match_run_id", ID, sa.ForeignKey("match_runs.id"), nullable=False,
                  index=True),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("run_unplaced", "proposals", "match_runs", "steps", "orders", "windows",
                  "machines", "factories", "clusters"):
        op.drop_table(table)
    drop_messaging_tables()
