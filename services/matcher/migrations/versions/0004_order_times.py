"""Orders record when the orders API accepted them and when the matcher first proposed them
(operator statistics: order → proposal latency).

Revision ID: 0004_order_times
Revises: 0003_run_solver_stats
Create Date: 2026-11-24

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_order_times"
down_revision: str | None = "0003_run_solver_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_proposed_at", sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_index("ix_orders_submitted", "orders", ["submitted_at"])
    op.create_index("ix_orders_first_proposed", "orders", ["first_proposed_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_first_proposed", table_name="orders")
    op.drop_index("ix_orders_submitted", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("first_proposed_at")
        batch.drop_column("submitted_at")
