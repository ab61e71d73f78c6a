"""Capacity tables (clusters, factories, machines, windows, reservations) plus outbox and inbox.

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

ACTIVE_STATUSES = "status IN ('held', 'accepted')"


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("max_distance_km", sa.Double(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_table(
        "factories",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("firm_id", sa.String(100), nullable=False, index=True),
        sa.Column("cluster_id", sa.String(63), sa.ForeignKey("clusters.id"), nullable=False,
                  index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("declared_tier", sa.String(20), nullable=False),
        sa.Column("verified_tier", sa.String(20), nullable=True),
        sa.Column("sme", sa.Boolean(), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_table(
        "machines",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("factory_id", sa.String(40), sa.ForeignKey("factories.id"), nullable=False,
                  index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("process", sa.String(50), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("hourly_rate", sa.Double(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_table(
        "windows",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("machine_id", sa.String(40), sa.ForeignKey("machines.id"), nullable=False),
        sa.Column("starts_at", _tz(), nullable=False),
        sa.Column("ends_at", _tz(), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("held_hours", sa.Double(), nullable=False),
        sa.Column("accepted_hours", sa.Double(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.CheckConstraint(
            "held_hours >= 0 AND accepted_hours >= 0 "
            "AND held_hours + accepted_hours <= hours + 0.000001",
            name="ck_windows_hours_within_offer",
        ),
    )
    op.create_index("ix_windows_machine_start", "windows", ["machine_id", "starts_at"])
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("order_id", sa.String(100), nullable=False, index=True),
        sa.Column("step_id", sa.String(100), nullable=False),
        sa.Column("window_id", sa.String(40), sa.ForeignKey("windows.id"), nullable=False,
                  index=True),
        sa.Column("factory_id", sa.String(40), sa.ForeignKey("factories.id"), nullable=False),
        sa.Column("cluster_id", sa.String(63), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("expires_at", _tz(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=True),
        sa.Column("match_run_id", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("uq_reservations_active_step", "reservations", ["step_id"], unique=True,
                    sqlite_where=sa.text(ACTIVE_STATUSES),
                    postgresql_where=sa.text(ACTIVE_STATUSES))
    op.create_index("ix_reservations_factory_status", "reservations", ["factory_id", "status"])
    create_messaging_tables()


def downgrade() -> None:
    drop_messaging_tables()
    op.drop_table("reservations")
    op.drop_table("windows")
    op.drop_table("machines")
    op.drop_table("factories")
    op.drop_table("clusters")
