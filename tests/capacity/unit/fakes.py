"""An in-memory unit of work: committed state is copied in on enter and back on commit."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Self

from services.capacity.domain.model import Cluster, Factory, Machine
from services.capacity.domain.reservations import ACTIVE, Reservation, Status
from services.capacity.domain.windows import Window
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate
from shared.events import Envelope


class _Store:
    def __init__(self) -> None:
        self.clusters: dict[str, Cluster] = {}
        self.factories: dict[str, Factory] = {}
        self.machines: dict[str, Machine] = {}
        self.windows: dict[str, Window] = {}
        self.reservations: dict[str, Reservation] = {}
        self.outbox: list[Envelope] = []
        self.inbox: set[tuple[str, str]] = set()


class _Repo:
    def __init__(self, rows: dict) -> None:
        self.rows = rows

    def add(self, obj: Any) -> None:
        self.rows[obj.id] = copy.deepcopy(obj)

    def get(self, object_id: str, **_: Any) -> Any:
        return copy.deepcopy(self.rows.get(object_id))


class FakeClusters(_Repo):
    def list(self) -> list[Cluster]:
        return [copy.deepcopy(c) for _, c in sorted(self.rows.items())]


class FakeFactories(_Repo):
    def save(self, factory: Factory) -> None:
        self.rows[factory.id] = copy.deepcopy(factory)

    def page(self, *, firm_id: str | None, after: str | None, limit: int) -> list[Factory]:
        found = [f for i, f in sorted(self.rows.items())
                 if (firm_id is None or f.firm_id == firm_id) and (not after or i > after)]
        return copy.deepcopy(found[:limit])


class FakeMachines(_Repo):
    def for_factory(self, factory_id: str) -> list[Machine]:
        return [copy.deepcopy(m) for m in self.rows.values() if m.factory_id == factory_id]


class FakeWindows(_Repo):
    def __init__(self, rows: dict) -> None:
        super().__init__(rows)
        self.conflicts_to_raise = 0  # simulate another writer winning the compare-and-set

    def get_many(self, window_ids: Iterable[str], *, lock: bool = False) -> dict[str, Window]:
        return {i: copy.deepcopy(self.rows[i]) for i in window_ids if i in self.rows}

    def for_machine(self, machine_id: str) -> list[Window]:
        return [copy.deepcopy(w) for w in self.rows.values() if w.machine_id == machine_id]

    def save_hours(self, window: Window) -> None:
        stored = self.rows[window.id]
        if self.conflicts_to_raise or stored.version != window.version:
            self.conflicts_to_raise = max(0, self.conflicts_to_raise - 1)
            raise ConcurrentUpdate(window.id)
        window.version += 1
        self.rows[window.id] = copy.deepcopy(window)


class FakeReservations(_Repo):
    def __init__(self, rows: dict, factories: dict) -> None:
        super().__init__(rows)
        self.factories = factories

    def active_for_steps(self, step_ids: Iterable[str]) -> dict[str, Reservation]:
        wanted = set(step_ids)
        return {r.step_id: copy.deepcopy(r) for r in self.rows.values()
                if r.step_id in wanted and r.status in ACTIVE}

    def save_status(self, reservation: Reservation, *, expected: Status) -> None:
        if self.rows[reservation.id].status != expected:
            raise ConcurrentUpdate(reservation.id)
        self.rows[reservation.id] = copy.deepcopy(reservation)

    def page(self, *, firm_id: str | None, status: Status | None, after: str | None,
             limit: int) -> list[Reservation]:
        found = [r for i, r in sorted(self.rows.items())
                 if (firm_id is None or self.factories[r.factory_id].firm_id == firm_id)
                 and (status is None or r.status == status) and (not after or i > after)]
        return copy.deepcopy(found[:limit])


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.committed = _Store()
        self.commits = 0
        self.conflicts_to_raise = 0

    def __enter__(self) -> Self:
        self._work = copy.deepcopy(self.committed)
        w = self._work
        self.clusters = FakeClusters(w.clusters)
        self.factories = FakeFactories(w.factories)
        self.machines = FakeMachines(w.machines)
        self.windows = FakeWindows(w.windows)
        self.windows.conflicts_to_raise = self.conflicts_to_raise
        self.reservations = FakeReservations(w.reservations, w.factories)
        return self

    def __exit__(self, *args: Any) -> None:
        self.conflicts_to_raise = self.windows.conflicts_to_raise
        self._work = None

    def publish(self, envelope: Envelope) -> None:
        self._work.outbox.append(envelope)

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        key = (consumer, str(envelope.event_id))
        if key in self._work.inbox:
            return False
        self._work.inbox.add(key)
        return True

    def commit(self) -> None:
        self.committed = copy.deepcopy(self._work)
        self.commits += 1

    def rollback(self) -> None:
        self._work = copy.deepcopy(self.committed)

    # --- what tests look at -------------------------------------------------------------------
    @property
    def events(self) -> list[Envelope]:
        return self.committed.outbox

    def event_types(self) -> list[str]:
        return [e.type for e in self.events]
