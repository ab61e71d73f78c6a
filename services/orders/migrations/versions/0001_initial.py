"""Orders, steps, clusters, idempotency keys, outbox and inbox.

Revision ID: orders_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_messaging_tables, drop_messaging_tables

revision: str = "orders_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "clusters",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("buyer_firm_id", sa.String(100), nullable=False),
        sa.Column("cluster_id", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("delivery_lat", sa.Float(), nullable=False),
        sa.Column("delivery_lon", sa.Float(), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_tier", sa.String(20), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("max_distance_km", sa.Float(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("allowed_factories", sa.JSON(), nullable=False),
        sa.Column("blocked_factories", sa.JSON(), nullable=False),
        sa.Column("max_factories", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_orders_cluster_id", "orders", ["cluster_id"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_created", "orders", ["created_at", "id"])
    op.create_index("ix_orders_buyer_created", "orders", ["buyer_firm_id", "created_at", "id"])
    op.create_table(
        "order_steps",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("order_id", sa.String(40), sa.ForeignKey("orders.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("process", sa.String(50), nullable=False),
        sa.Column("material", sa.String(100), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("alloc_hours", sa.Float(), nullable=True),
        sa.Column("alloc_price", sa.Float(), nullable=True),
        sa.Column("window_id", sa.String(100), nullable=True),
        sa.Column("factory_id", sa.String(100), nullable=True),
        sa.Column("factory_name", sa.String(200), nullable=True),
        sa.Column("reservation_id", sa.String(100), nullable=True),
        sa.Column("unplaced_reason", sa.String(50), nullable=True),
        sa.Column("unplaced_detail", sa.Text(), nullable=True),
        sa.UniqueConstraint("order_id", "key", name="uq_order_steps_order_key"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("buyer_firm_id", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(40), sa.ForeignKey("orders.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("order_steps")
    op.drop_table("orders")
    op.drop_table("clusters")
    drop_messaging_tables()
