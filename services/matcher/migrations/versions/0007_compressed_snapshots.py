"""Match-run snapshots stored zlib-compressed: the paced planning loop stores hundreds of runs
a minute under load, each with every window of its cluster (about nine times smaller).

Revision ID: 0007_compressed_snapshots
Revises: 0006_cluster_plan_epoch
Create Date: 2026-12-04

"""
import json
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007_compressed_snapshots"
down_revision: str | None = "0006_cluster_plan_epoch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 200  # runs converted per statement (a snapshot can be megabytes)


def _compress(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)


def _decompress(value: bytes) -> Any:
    return json.loads(zlib.decompress(value))


def _convert(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any],
             change: Callable[[Any], Any]) -> None:
    """Copy every snapshot into a new column of type ``new`` and put it in the old one's place."""
    with op.batch_alter_table("match_runs") as batch:
        batch.add_column(sa.Column("snapshot_new", new, nullable=True))
    runs = sa.table("match_runs", sa.column("id", sa.String), sa.column("snapshot", old),
                    sa.column("snapshot_new", new))
    conn = op.get_bind()
    ids = list(conn.scalars(sa.select(runs.c.id).order_by(runs.c.id)))
    for start in range(0, len(ids), CHUNK):
        rows = conn.execute(sa.select(runs.c.id, runs.c.snapshot)
                            .where(runs.c.id.in_(ids[start:start + CHUNK]))).all()
        conn.execute(sa.update(runs).where(runs.c.id == sa.bindparam("run_id"))
                     .values(snapshot_new=sa.bindparam("value")),
                     [{"run_id": r.id, "value": change(r.snapshot)} for r in rows])
    with op.batch_alter_table("match_runs") as batch:
        batch.drop_column("snapshot")
        batch.alter_column("snapshot_new", new_column_name="snapshot", nullable=False,
                           existing_type=new)


def upgrade() -> None:
    _convert(sa.JSON(), sa.LargeBinary(), _compress)


def downgrade() -> None:
    _convert(sa.LargeBinary(), sa.JSON(), _decompress)
