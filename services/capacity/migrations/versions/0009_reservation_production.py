"""A supplier reports the work of accepted hours (POST /v1/reservations/{id}/start and
/complete): when production started and when it was completed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("started_at", "completed_at"):
        op.add_column("reservations",
                      sa.Column(column, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("completed_at", "started_at"):
        op.drop_column("reservations", column)
