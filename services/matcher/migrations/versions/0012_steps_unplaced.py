"""A partial index of the steps unplaced now, by order: the operator's statistics find the
orders at risk (a step accepted, another unplaced) without reading every step ever planned.

Revision ID: 0012_steps_unplaced
Revises: 0011_step_started
Create Date: 2026-12-05

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_steps_unplaced"
down_revision: str | None = "0011_step_started"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPLACED_STEP = sa.text("status = 'unplaced'")


def upgrade() -> None:
    op.create_index("ix_steps_unplaced", "steps", ["order_id"],
                    sqlite_where=UNPLACED_STEP, postgresql_where=UNPLACED_STEP)


def downgrade() -> None:
    op.drop_index("ix_steps_unplaced", table_name="steps")
