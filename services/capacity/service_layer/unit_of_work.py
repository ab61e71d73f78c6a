"""The unit-of-work port: repositories plus publish/claim/commit in one transaction.

The SQLAlchemy adapter implements it; unit tests use an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, Self

from services.capacity.domain.availability import FreeSlot
from services.capacity.domain.model import Cluster, Factory, Machine
from services.capacity.domain.reservations import Reservation, Status, StepHold
from services.capacity.domain.window_import import MachineRef
from services.capacity.domain.windows import Window
from shared.audit import AuditLog
from shared.events import Envelope


class ConcurrentUpdate(Exception):
    """Another transaction changed the same rows first; the whole unit of work is retried."""


class ClusterRepository(Protocol):
    def add(self, cluster: Cluster) -> None: ...
    def get(self, cluster_id: str) -> Cluster | None: ...
    def list(self) -> list[Cluster]: ...


class FactoryRepository(Protocol):
    def add(self, factory: Factory) -> None: ...
    def get(self, factory_id: str, *, lock: bool = False) -> Factory | None: ...
    def save(self, factory: Factory) -> None: ...
    def page(self, *, firm_id: str | None, after: str | None, limit: int,
             cluster_id: str | None = None, verified: bool | None = None
             ) -> list[Factory]: ...


class MachineRepository(Protocol):
    def add(self, machine: Machine) -> None: ...
    def get(self, machine_id: str, *, lock: bool = False) -> Machine | None: ...
    def save(self, machine: Machine) -> None: ...
    def for_factory(self, factory_id: str, *, lock: bool = False) -> list[Machine]: ...

    def refs(self, machine_ids: Iterable[str], *, firm_id: str,
             lock: bool = False) -> dict[str, MachineRef]:
        """The machines among ``machine_ids`` that belong to ``firm_id`` (one query)."""
        ...


class WindowRepository(Protocol):
    """Open windows only: a closed window is gone for every read."""

    def add(self, window: Window) -> None: ...
    def add_many(self, windows: list[Window]) -> None: ...
    def get(self, window_id: str) -> Window | None: ...
    def get_many(self, window_ids: Iterable[str], *, lock: bool = False) -> dict[str, Window]: ...
    def for_machine(self, machine_id: str) -> list[Window]: ...

    def page_for_machine(self, machine_id: str, *, after: str | None,
                         limit: int) -> list[Window]:
        """The machine's windows by start, after the window ``after`` (a cursor)."""
        ...

    def for_machines(self, machine_ids: Iterable[str]) -> list[Window]: ...

    def save_hours(self, window: Window) -> None:
        """Compare-and-set on ``window.version``; bumps it, or raises ConcurrentUpdate."""
        ...

    def save(self, window: Window) -> None:
        """Like save_hours, for times, hours offered and closing too."""
        ...

    def free_slots(self, cluster_id: str, *, process: str | None,
                   after: datetime) -> list[FreeSlot]:
        """Windows of the cluster ending after ``after`` with free hours."""
        ...


class ReservationRepository(Protocol):
    def add(self, reservation: Reservation) -> None: ...
    def get(self, reservation_id: str, *, lock: bool = False) -> Reservation | None: ...
    def active_for_steps(self, step_ids: Iterable[str]) -> dict[str, Reservation]: ...
    def active_for_order(self, order_id: str, *, lock: bool = False) -> list[Reservation]: ...

    def due_holds(self, now: datetime, *, limit: int) -> list[Reservation]:
        """Held reservations whose ``expires_at`` is not after ``now``, oldest first."""
        ...

    def save_status(self, reservation: Reservation, *, expected: Status) -> None:
        """Compare-and-set on the stored status; raises ConcurrentUpdate if it moved."""
        ...

    def save_production(self, reservation: Reservation) -> None:
        """The work's start and end, while accepted and not completed (else
        ConcurrentUpdate)."""
        ...

    def completed_hours(self, window_ids: Iterable[str]) -> dict[str, float]:
        """Window id → hours accepted on it whose work is reported completed."""
        ...

    def latest_step_holds(self, order_ids: Iterable[str]) -> dict[str, list[StepHold]]:
        """Order id → the latest reservation of each of its steps that has any."""
        ...

    def page(
        self, *, firm_id: str | None, status: Status | None, after: str | None, limit: int,
        factory_id: str | None = None, order_id: str | None = None,
        production: str | None = None,
    ) -> list[Reservation]: ...


class OrderRepository(Protocol):
    """The orders capacity has heard of: it remembers the cancelled ones."""

    def lock(self, order_id: str, *, cluster_id: str) -> bool:
        """Record the order if new and lock it until commit; True if it was cancelled.

        Proposals and cancellations of one order take this lock first, so they serialise.
        """
        ...

    def cancel(self, order_id: str, *, at: datetime, reason: str | None) -> None: ...


class CapacityUnitOfWork(Protocol):
    clusters: ClusterRepository
    factories: FactoryRepository
    machines: MachineRepository
    windows: WindowRepository
    reservations: ReservationRepository
    orders: OrderRepository
    audit: AuditLog

    def __enter__(self) -> Self: ...

    def together(self) -> AbstractContextManager[Self]:
        """One transaction for several event handlers: their ``with uow`` and ``commit()``
        join it; it commits once at the end, or keeps nothing if one of them fails."""
        ...
    def __exit__(self, *args: Any) -> None: ...
    def publish(self, envelope: Envelope) -> None: ...
    def publish_all(self, envelopes: Sequence[Envelope]) -> None: ...

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        """Record the event in the inbox; False if it was applied before."""
        ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
