"""Steps record when their supplier completed the work (reservation.completed), for the
operator's statistics: steps and orders completed, hours of work done.

Revision ID: 0010_step_completed
Revises: 0009_snapshot_retention
Create Date: 2026-12-05

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_step_completed"
down_revision: str | None = "0009_snapshot_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("steps", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_steps_completed_at", "steps", ["completed_at"])


def downgrade() -> None:
    op.drop_index("ix_steps_completed_at", table_name="steps")
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("completed_at")
