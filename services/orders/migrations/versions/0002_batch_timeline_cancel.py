"""Order timeline; idempotency keys of batches (no single order, the stored result instead).

Orders submitted before this revision get their order.submitted entry from the outbox.

Revision ID: orders_0002
Revises: orders_0001
Create Date: 2026-11-24
"""

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0002"
down_revision: str | None = "orders_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("order_id", existing_type=sa.String(40), nullable=True)
        batch.add_column(sa.Column("response", sa.Text(), nullable=True))
    timeline = op.create_table(
        "order_timeline",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("order_id", sa.String(40), sa.ForeignKey("orders.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step_id", sa.String(40), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.UniqueConstraint("order_id", "event_id", name="uq_order_timeline_event"),
    )
    op.create_index("ix_order_timeline_order", "order_timeline", ["order_id", "id"])
    _backfill_submitted(timeline)


def _backfill_submitted(timeline: sa.Table) -> None:
    conn = op.get_bind()
    outbox = sa.table("outbox", sa.column("id"), sa.column("type"), sa.column("body"))
    orders = sa.table("orders", sa.column("id"))
    existing = set(conn.execute(sa.select(orders.c.id)).scalars())
    rows = []
    query = sa.select(outbox.c.body).where(outbox.c.type == "order.submitted").order_by(
        outbox.c.id)
    for body in conn.execute(query).scalars():
        event = json.loads(body)
        payload = event["payload"]
        if payload["order_id"] in existing:
            rows.append({"order_id": payload["order_id"], "event_id": event["event_id"],
                         "type": event["type"], "step_id": None,
                         "occurred_at": datetime.fromisoformat(event["occurred_at"]),
                         "summary": {"steps": len(payload["steps"])}})
    if rows:
        op.bulk_insert(timeline, rows)


def downgrade() -> None:
    op.drop_index("ix_order_timeline_order", table_name="order_timeline")
    op.drop_table("order_timeline")
    op.execute("DELETE FROM idempotency_keys WHERE order_id IS NULL")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("response")
        batch.alter_column("order_id", existing_type=sa.String(40), nullable=False)
