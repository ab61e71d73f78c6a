"""A supplier retires a factory (DELETE /v1/factories/{id}): the row stays, so its
reservations keep their history, and is gone for every other read and write.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("factories",
                  sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("factories", "retired_at")  # SQLite ≥ 3.35 drops columns in place
