"""Match runs record the optimiser's bound, gap and seed.

Revision ID: 0003_run_solver_stats
Revises: 0002_consumer_offsets
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_run_solver_stats"
down_revision: str | None = "0002_consumer_offsets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_runs") as batch:
        batch.add_column(sa.Column("bound", sa.Float(), nullable=True))
        batch.add_column(sa.Column("gap", sa.Float(), nullable=True))
        batch.add_column(sa.Column("seed", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_runs") as batch:
        batch.drop_column("seed")
        batch.drop_column("gap")
        batch.drop_column("bound")
