"""An in-memory unit of work: committed state is copied in on enter and back on commit."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self

from services.capacity.domain.availability import FreeSlot
from services.capacity.domain.model import Cluster, Factory, Machine
from services.capacity.domain.reservations import ACTIVE, Reservation, Status, StepHold
from services.capacity.domain.window_import import MachineRef
from services.capacity.domain.windows import EPSILON, Window
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate
from shared.audit import AuditEntry
from shared.events import Envelope
from tests.helpers import FakeAuditLog


class _Store:
    def __init__(self) -> None:
        self.clusters: dict[str, Cluster] = {}
        self.factories: dict[str, Factory] = {}
        self.machines: dict[str, Machine] = {}
        self.windows: dict[str, Window] = {}
        self.reservations: dict[str, Reservation] = {}
        self.cancelled_orders: dict[str, datetime | None] = {}  # order id → cancelled at
        self.outbox: list[Envelope] = []
        self.audit: list[AuditEntry] = []
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

    def page(self, *, firm_id: str | None, after: str | None, limit: int,
             cluster_id: str | None = None, verified: bool | None = None) -> list[Factory]:
        found = [f for i, f in sorted(self.rows.items())
                 if f.retired_at is None
                 and (firm_id is None or f.firm_id == firm_id) and (not after or i > after)
                 and (cluster_id is None or f.cluster_id == cluster_id)
                 and (verified is None or f.tier_verification_pending is not verified)]
        return copy.deepcopy(found[:limit])


class FakeMachines(_Repo):
    def __init__(self, rows: dict, factories: dict) -> None:
        super().__init__(rows)
        self.factories = factories

    def get(self, object_id: str, **_: Any) -> Machine | None:
        machine = self.rows.get(object_id)
        return None if machine is None or machine.retired_at else copy.deepcopy(machine)

    def save(self, machine: Machine) -> None:
        self.rows[machine.id] = copy.deepcopy(machine)

    def for_factory(self, factory_id: str, *, lock: bool = False) -> list[Machine]:
        return [copy.deepcopy(m) for m in sorted(self.rows.values(), key=lambda m: m.id)
                if m.factory_id == factory_id and not m.retired_at]  # by id, as stored ones

    def refs(self, machine_ids: Iterable[str], *, firm_id: str,
             lock: bool = False) -> dict[str, MachineRef]:
        found = {}
        for machine_id in {m for m in machine_ids if self.get(m) is not None}:
            factory = self.factories[self.rows[machine_id].factory_id]
            if factory.firm_id == firm_id:
                found[machine_id] = MachineRef(machine_id, factory.id, factory.cluster_id)
        return found


class FakeWindows(_Repo):
    """Closed windows stay in ``rows`` but no read returns them."""

    def __init__(self, rows: dict, machines: dict, factories: dict) -> None:
        super().__init__(rows)
        self.machines, self.factories = machines, factories
        self.conflicts_to_raise = 0  # simulate another writer winning the compare-and-set

    def _open(self) -> list[Window]:
        return [w for w in self.rows.values() if w.closed_at is None]

    def get(self, window_id: str, **_: Any) -> Window | None:
        return self.get_many([window_id]).get(window_id)

    def get_many(self, window_ids: Iterable[str], *, lock: bool = False) -> dict[str, Window]:
        wanted = set(window_ids)
        return {w.id: copy.deepcopy(w) for w in self._open() if w.id in wanted}

    def add_many(self, windows: list[Window]) -> None:
        for window in windows:
            self.add(window)

    def for_machine(self, machine_id: str) -> list[Window]:
        return self.for_machines([machine_id])

    def page_for_machine(self, machine_id: str, *, after: str | None,
                         limit: int) -> list[Window]:
        ordered = sorted(self.for_machine(machine_id), key=lambda w: (w.start, w.id))
        if after:
            anchor = self.rows.get(after)
            ordered = [w for w in ordered
                       if anchor and (w.start, w.id) > (anchor.start, anchor.id)]
        return ordered[:limit]

    def for_machines(self, machine_ids: Iterable[str]) -> list[Window]:
        wanted = set(machine_ids)
        return sorted((copy.deepcopy(w) for w in self._open() if w.machine_id in wanted),
                      key=lambda w: w.start)

    def save_hours(self, window: Window) -> None:
        self.save(window)

    def save(self, window: Window) -> None:
        stored = self.rows[window.id]
        if self.conflicts_to_raise or stored.version != window.version:
            self.conflicts_to_raise = max(0, self.conflicts_to_raise - 1)
            raise ConcurrentUpdate(window.id)
        window.version += 1
        self.rows[window.id] = copy.deepcopy(window)

    def free_slots(self, cluster_id: str, *, process: str | None,
                   after: datetime) -> list[FreeSlot]:
        slots = []
        for w in self._open():
            machine = self.machines[w.machine_id]
            factory = self.factories[machine.factory_id]
            if (w.cluster_id == cluster_id and w.end > after and w.free_hours > EPSILON
                    and process in (None, machine.process)):
                slots.append(FreeSlot(factory.id, machine.process, factory.verified_tier,
                                      w.start, w.end, w.free_hours))
        return slots


class FakeReservations(_Repo):
    def __init__(self, rows: dict, factories: dict) -> None:
        super().__init__(rows)
        self.factories = factories

    def active_for_steps(self, step_ids: Iterable[str]) -> dict[str, Reservation]:
        wanted = set(step_ids)
        return {r.step_id: copy.deepcopy(r) for r in self.rows.values()
                if r.step_id in wanted and r.status in ACTIVE}

    def active_for_order(self, order_id: str, **_: Any) -> list[Reservation]:
        return [copy.deepcopy(r) for _, r in sorted(self.rows.items())
                if r.order_id == order_id and r.status in ACTIVE]

    def due_holds(self, now: datetime, *, limit: int) -> list[Reservation]:
        due = sorted((r for r in self.rows.values()
                      if r.status is Status.HELD and r.expires_at <= now),
                     key=lambda r: (r.expires_at, r.id))
        return copy.deepcopy(due[:limit])

    def save_status(self, reservation: Reservation, *, expected: Status) -> None:
        if self.rows[reservation.id].status != expected:
            raise ConcurrentUpdate(reservation.id)
        self.rows[reservation.id] = copy.deepcopy(reservation)

    def save_production(self, reservation: Reservation) -> None:
        stored = self.rows[reservation.id]
        if stored.status is not Status.ACCEPTED or stored.completed_at is not None:
            raise ConcurrentUpdate(reservation.id)
        self.rows[reservation.id] = copy.deepcopy(reservation)

    def latest_step_holds(self, order_ids: Iterable[str]) -> dict[str, list[StepHold]]:
        wanted, latest = set(order_ids), {}
        for r in sorted(self.rows.values(), key=lambda r: (r.created_at, r.id)):
            if r.order_id in wanted:
                latest.setdefault(r.order_id, {})[r.step_id] = StepHold(
                    r.step_id, r.job.step if r.job else None, r.status,
                    r.completed_at is not None)
        return {order_id: list(steps.values()) for order_id, steps in latest.items()}

    def completed_hours(self, window_ids: Iterable[str]) -> dict[str, float]:
        wanted, found = set(window_ids), {}
        for r in self.rows.values():
            if (r.window_id in wanted and r.status is Status.ACCEPTED
                    and r.completed_at is not None):
                found[r.window_id] = found.get(r.window_id, 0.0) + r.hours
        return found

    def page(self, *, firm_id: str | None, status: Status | None, after: str | None,
             limit: int, factory_id: str | None = None, order_id: str | None = None,
             production: str | None = None) -> list[Reservation]:
        found = [r for i, r in sorted(self.rows.items())
                 if (firm_id is None or self.factories[r.factory_id].firm_id == firm_id)
                 and (status is None or r.status == status) and (not after or i > after)
                 and (factory_id is None or r.factory_id == factory_id)
                 and (order_id is None or r.order_id == order_id)
                 and (production is None or r.production == production)]
        return copy.deepcopy(found[:limit])


class FakeOrders:
    def __init__(self, rows: dict[str, datetime | None]) -> None:
        self.rows = rows

    def lock(self, order_id: str, *, cluster_id: str) -> bool:
        return self.rows.setdefault(order_id, None) is not None

    def cancel(self, order_id: str, *, at: datetime, reason: str | None) -> None:
        if self.rows.get(order_id) is None:
            self.rows[order_id] = at


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
        self.machines = FakeMachines(w.machines, w.factories)
        self.windows = FakeWindows(w.windows, w.machines, w.factories)
        self.windows.conflicts_to_raise = self.conflicts_to_raise
        self.reservations = FakeReservations(w.reservations, w.factories)
        self.orders = FakeOrders(w.cancelled_orders)
        self.audit = FakeAuditLog(w.audit)
        return self

    def __exit__(self, *args: Any) -> None:
        self.conflicts_to_raise = self.windows.conflicts_to_raise
        self._work = None

    def publish(self, envelope: Envelope) -> None:
        self._work.outbox.append(envelope)

    def publish_all(self, envelopes: list[Envelope]) -> None:
        self._work.outbox.extend(envelopes)

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
