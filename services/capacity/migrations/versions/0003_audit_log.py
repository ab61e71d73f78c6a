"""The audit log: who verified a tier, accepted or declined a reservation, and when.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from collections.abc import Sequence

from shared.migrations import create_audit_table, drop_audit_table

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table()


def downgrade() -> None:
    drop_audit_table()
