"""A buyer revises an order (POST /v1/orders/{id}/revise): the new order names the one it
revised, and the cancelled one names the order that replaced it.

Revision ID: orders_0005
Revises: orders_0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orders_0005"
down_revision: str | None = "orders_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("revision_of", sa.String(40), nullable=True))
    op.add_column("orders", sa.Column("revised_as", sa.String(40), nullable=True))


def downgrade() -> None:  # SQLite ≥ 3.35 drops columns in place
    op.drop_column("orders", "revised_as")
    op.drop_column("orders", "revision_of")
