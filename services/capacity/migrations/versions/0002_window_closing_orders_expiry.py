"""Closed windows, the orders capacity has heard of (cancellations), and an index for expiry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("windows", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "orders",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("cluster_id", sa.String(63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_reservations_status_expires", "reservations", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_reservations_status_expires", table_name="reservations")
    op.drop_table("orders")
    op.drop_column("windows", "closed_at")  # SQLite ≥ 3.35 drops columns in place
