"""Retention of match-run inputs: every run stores its input (a snapshot of its cluster, ~36 kB
compressed for 1,500 windows) so that it can be replayed, and the paced planning loop stores
hundreds of runs a minute under load. The input of a run older than
``MATCHER_SNAPSHOT_RETENTION_DAYS`` is deleted; the run itself — its status, objective,
proposals and unplaced steps — stays, as the platform's record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.matcher.service_layer.unit_of_work import UnitOfWork
from shared.background import drain

BATCH = 200  # runs per UPDATE: a few MB of snapshots


def prune_run_inputs(uow_factory: Callable[[], UnitOfWork], *, days: float,
                     now: datetime | None = None, batch: int = BATCH,
                     stopping: Callable[[], bool] = lambda: False) -> int:
    """Delete the input of every run started more than ``days`` ago (``0``: keep them all),
    ``batch`` runs per transaction, asking ``stopping`` between batches; answers how many."""
    if days <= 0:
        return 0
    before = (now or datetime.now(UTC)) - timedelta(days=days)

    def one_batch() -> int:
        with uow_factory() as uow:
            done = uow.runs.prune_snapshots(started_before=before, limit=batch)
            uow.commit()
        return done

    return drain(one_batch, size=batch, stopping=stopping)
