"""The broker's id of each topic the stored offsets came from: a topic created anew (a broker
that kept nothing restarted) has a new id, and its stored offsets are then forgotten.

Revision ID: 0005_consumer_topics
Revises: 0004_order_times
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_consumer_topics"
down_revision: str | None = "0004_order_times"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consumer_topics",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consumer_topics")
