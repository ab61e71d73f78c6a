"""A cluster's plan epoch: counts the changes that can make a plan computed before them wrong
(capacity, factories, cancellations, other runs). A match run solves outside the cluster's
lock and writes its plan only if the epoch is still the one it read.

Revision ID: 0006_cluster_plan_epoch
Revises: 0005_consumer_topics
Create Date: 2026-12-03

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_cluster_plan_epoch"
down_revision: str | None = "0005_consumer_topics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clusters") as batch:
        batch.add_column(sa.Column("plan_epoch", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("clusters") as batch:
        batch.drop_column("plan_epoch")
