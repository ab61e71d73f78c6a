"""A supplier retires a machine (DELETE /v1/machines/{id}): the row stays, so the windows and
reservations that name it keep their history, and is gone for every read and write.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("machines", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("machines", "retired_at")  # SQLite ≥ 3.35 drops columns in place
