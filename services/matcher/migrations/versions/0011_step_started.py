"""Steps record when their supplier started the work (reservation.started), for the operator's
statistics: the work in production now. A partial index holds only the steps started and not
completed.

Revision ID: 0011_step_started
Revises: 0010_step_completed
Create Date: 2026-12-05

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_step_started"
down_revision: str | None = "0010_step_completed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_PRODUCTION = sa.text("started_at IS NOT NULL AND completed_at IS NULL")


def upgrade() -> None:
    op.add_column("steps", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_steps_in_production", "steps", ["status", "started_at"],
                    sqlite_where=IN_PRODUCTION, postgresql_where=IN_PRODUCTION)


def downgrade() -> None:
    op.drop_index("ix_steps_in_production", table_name="steps")
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("started_at")
