"""The ports the service layer works through; adapters implement them over SQLAlchemy and the
unit tests over dicts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, Self

from services.matcher.domain.model import Allocation, Plan, Unplaced
from services.matcher.domain.readmodel import (
    ClusterSnapshot,
    FactoryRecord,
    MachineRecord,
    OrderRecord,
    QueuedOrder,
    StepState,
    WindowRecord,
)
from services.matcher.domain.runs import MatchRun
from services.matcher.domain.stats import (
    AtRisk,
    Completed,
    InProduction,
    OrderAtRisk,
    Outcome,
    RunSummary,
)
from shared.events import Envelope


class ReadModelRepository(Protocol):
    def upsert_cluster(self, *, cluster_id: str, name: str, lat: float, lon: float,
                       max_distance_km: float) -> None: ...
    def cluster_exists(self, cluster_id: str) -> bool: ...
    def lock_cluster(self, cluster_id: str) -> None:
        """Serialise planning of one cluster (a row lock where the database has them)."""
    def upsert_factory(self, record: FactoryRecord) -> None: ...
    def get_factory(self, factory_id: str) -> FactoryRecord | None: ...
    def upsert_machine(self, record: MachineRecord) -> None: ...
    def get_machine(self, machine_id: str) -> MachineRecord | None: ...
    def upsert_window(self, record: WindowRecord) -> None: ...
    def get_window(self, window_id: str) -> WindowRecord | None:
        """The window as offered (``used_hours`` is not computed here)."""
    def delete_window(self, window_id: str) -> bool:
        """False if there was no such window."""
    def add_order(self, order: OrderRecord, steps: list[StepState]) -> bool:
        """False (and nothing written) if the order is known already."""
    def get_order(self, order_id: str) -> OrderRecord | None: ...
    def get_step(self, step_id: str) -> StepState | None: ...
    def prefetch_steps(self, step_ids: Iterable[str]) -> None:
        """Read these steps ahead, in one query, for ``get_step`` in this transaction."""
    def order_steps(self, order_id: str) -> list[StepState]: ...
    def cluster_steps(self, cluster_id: str, *, status: str) -> list[StepState]: ...
    def window_steps(self, window_id: str) -> list[StepState]:
        """The steps that sit on ``window_id`` (proposed, held or accepted there)."""
    def save_step(self, step: StepState) -> None: ...
    def plan_epoch(self, cluster_id: str) -> int:
        """Changes so far that a plan computed before them may not survive."""
    def bump_plan_epoch(self, cluster_id: str) -> None: ...
    def steps_of_orders(self, order_ids: Sequence[str]) -> list[StepState]:
        """Their steps, by order and position."""
    def save_steps(self, steps: Sequence[StepState]) -> None:
        """Several at once (a planning run's outcome)."""
    def first_proposals(self, order_ids: list[str], *, at: datetime) -> list[float]:
        """Mark ``at`` as the first proposal of those orders not proposed before; the seconds
        from each one's submission to ``at`` (orders without a submission time left out)."""
    def pending_count(self, cluster_id: str) -> int:
        """How many steps of the cluster wait to be planned (status pending)."""
    def pending_queue(self, cluster_id: str) -> list[QueuedOrder]:
        """Each order of the cluster with a pending step, with its priority, due date and
        open steps (one row per order: the run loads only the orders it chooses)."""
    def clusters_with_pending(self) -> list[str]: ...
    def snapshot(self, cluster_id: str, *, now: datetime,
                 order_ids: Sequence[str]) -> ClusterSnapshot:
        """Factories, machines, windows (ending after ``now``, or holding a loaded step) with
        their used hours, and the orders ``order_ids`` (a run's: ``pending_queue`` and
        ``select_batch`` choose them) with all their steps."""


class MatchRunRepository(Protocol):
    def exists(self, run_id: str) -> bool:
        """True if this instance made (and stored) the run."""
    def stored(self, run_ids: Collection[str]) -> set[str]:
        """Those of ``run_ids`` that ``exists`` is true for (one query)."""
    def add(self, run: MatchRun, *, plan: Plan, snapshot: dict[str, Any]) -> None: ...
    def get(self, run_id: str) -> tuple[MatchRun, list[Allocation], list[Unplaced]] | None: ...
    def snapshot(self, run_id: str) -> dict[str, Any] | None:
        """The run's stored input (a scenario), or None if there is no such run or retention
        deleted its input."""
    def prune_snapshots(self, *, started_before: datetime, limit: int) -> int:
        """Delete the input of up to ``limit`` runs started before then; the runs stay."""
    def list(self, *, cluster_id: str | None, after: tuple[datetime, str] | None,
             limit: int) -> list[MatchRun]:
        """Newest first; ``after`` = (started_at, id) of the last run of the previous page."""


class OffsetRepository(Protocol):
    def record(self, *, topic: str, partition: int, offset: int) -> None:
        """The last offset applied from a topic partition (with the event's effect)."""
    def load(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]: ...


class StatsQueries(Protocol):
    """The rows of the operator statistics (``cluster_id`` None = every cluster)."""

    def submitted_times(self, *, cluster_id: str | None, since: datetime,
                        until: datetime) -> list[datetime]: ...
    def first_proposals(self, *, cluster_id: str | None, since: datetime,
                        until: datetime) -> list[tuple[datetime, float]]: ...
    def outcomes(self, *, cluster_id: str | None, since: datetime,
                 until: datetime) -> list[Outcome]: ...
    def hours(self, *, cluster_id: str | None, since: datetime) -> tuple[float, float]: ...
    def completed(self, *, cluster_id: str | None, since: datetime,
                  until: datetime) -> Completed: ...
    def runs(self, *, cluster_id: str | None, since: datetime, until: datetime,
             limit: int | None = None) -> list[RunSummary]: ...
    def in_production(self, *, cluster_id: str | None, until: datetime) -> InProduction: ...
    def at_risk(self, *, cluster_id: str | None) -> AtRisk: ...
    def at_risk_by_cluster(self) -> dict[str, AtRisk]: ...
    def orders_at_risk(self, *, cluster_id: str | None, after: tuple[datetime, str] | None,
                       limit: int) -> list[OrderAtRisk]: ...
    def run_count(self, *, cluster_id: str | None, since: datetime, until: datetime) -> int: ...


class UnitOfWork(Protocol):
    read_model: ReadModelRepository
    runs: MatchRunRepository
    offsets: OffsetRepository
    stats: StatsQueries

    def __enter__(self) -> Self: ...
    def together(self) -> AbstractContextManager[Self]:
        """One transaction for several events: their ``with uow`` and ``commit()`` join it."""
        ...
    def __exit__(self, *args: Any) -> None: ...
    def publish(self, envelope: Envelope) -> None: ...

    def publish_all(self, envelopes: Sequence[Envelope]) -> None:
        """Many events at once, in order (one INSERT for all)."""
        ...
    def claim(self, consumer: str, envelope: Envelope) -> bool: ...
    def claim_all(self, consumer: str, envelopes: Sequence[Envelope]) -> list[bool]: ...
    def commit(self) -> None: ...
