"""A factory's declared tier can await the operator again after it was verified (a supplier
declares a higher tier): the operator's queue is the factories whose claim awaits, not the
ones never verified. Factories verified before this keep their verification.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("factories") as batch:
        batch.add_column(sa.Column("tier_verification_pending", sa.Boolean(), nullable=True))
    factories = sa.table("factories", sa.column("verified_tier", sa.String),
                         sa.column("tier_verification_pending", sa.Boolean))
    op.execute(factories.update().values(
        tier_verification_pending=factories.c.verified_tier.is_(None)))
    with op.batch_alter_table("factories") as batch:
        batch.alter_column("tier_verification_pending", existing_type=sa.Boolean(),
                           nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("factories") as batch:
        batch.drop_column("tier_verification_pending")
