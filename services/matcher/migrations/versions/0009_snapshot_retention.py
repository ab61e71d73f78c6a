"""A match run's snapshot may be gone: retention deletes the input of old runs and keeps the
runs themselves (MATCHER_SNAPSHOT_RETENTION_DAYS).

Revision ID: 0009_snapshot_retention
Revises: 0008_inbox_age_index
Create Date: 2026-12-04

"""
import zlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_snapshot_retention"
down_revision: str | None = "0008_inbox_age_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_runs") as batch:
        batch.alter_column("snapshot", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    """A required snapshot again: runs whose snapshot retention deleted get an empty document
    (``{}``, compressed as the column stores it) in its place."""
    runs = sa.table("match_runs", sa.column("snapshot", sa.LargeBinary()))
    op.execute(sa.update(runs).where(runs.c.snapshot.is_(None))
               .values(snapshot=zlib.compress(b"{}", 1)))
    with op.batch_alter_table("match_runs") as batch:
        batch.alter_column("snapshot", existing_type=sa.LargeBinary(), nullable=False)
