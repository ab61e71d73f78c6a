"""Each step shows when its supplier started and completed the work (reservation.started,
reservation.completed), for the buyer reading the order.

Revision ID: orders_0006
Revises: orders_0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0006"
down_revision: str | None = "orders_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("started_at", "completed_at"):
        op.add_column("order_steps",
                      sa.Column(column, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:  # SQLite ≥ 3.35 drops columns in place
    for column in ("completed_at", "started_at"):
        op.drop_column("order_steps", column)
