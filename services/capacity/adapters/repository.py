"""Repositories: domain objects in, domain objects out (ORM rows never leave this module)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.capacity.adapters.orm import (
    ACTIVE_STATUSES,
    ClusterRow,
    FactoryRow,
    MachineRow,
    OrderRow,
    ReservationRow,
    WindowRow,
)
from services.capacity.domain.availability import FreeSlot
from services.capacity.domain.model import Cluster, Factory, Machine
from services.capacity.domain.reservations import (
    ACTIVE,
    Job,
    PrecedingStep,
    Reservation,
    Status,
    StepHold,
)
from services.capacity.domain.window_import import MachineRef
from services.capacity.domain.windows import EPSILON, Window
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate


def _now() -> datetime:
    return datetime.now(UTC)


_WINDOWS = WindowRow.__table__
_SAVE_HOURS = (sa.update(_WINDOWS)
               .where(_WINDOWS.c.id == sa.bindparam("w_id"),
                      _WINDOWS.c.version == sa.bindparam("w_version"))
               .values(held_hours=sa.bindparam("held"), accepted_hours=sa.bindparam("accepted"),
                       version=sa.bindparam("next")))


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class ClusterRepository(_Repository):
    def add(self, cluster: Cluster) -> None:
        self.session.add(ClusterRow(**vars(cluster), created_at=_now()))

    def get(self, cluster_id: str) -> Cluster | None:
        row = self.session.get(ClusterRow, cluster_id)
        return row and _cluster(row)

    def list(self) -> list[Cluster]:
        rows = self.session.scalars(sa.select(ClusterRow).order_by(ClusterRow.id))
        return [_cluster(r) for r in rows]


class FactoryRepository(_Repository):
    def add(self, factory: Factory) -> None:
        self.session.add(FactoryRow(**vars(factory), created_at=_now()))

    def get(self, factory_id: str, *, lock: bool = False) -> Factory | None:
        query = sa.select(FactoryRow).where(FactoryRow.id == factory_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return row and _factory(row)

    def save(self, factory: Factory) -> None:
        """Everything but the id, owner and cluster, which never change."""
        fields = {k: v for k, v in vars(factory).items()
                  if k not in ("id", "firm_id", "cluster_id")}
        self.session.execute(sa.update(FactoryRow).where(FactoryRow.id == factory.id)
                             .values(**fields))

    def page(self, *, firm_id: str | None, after: str | None, limit: int,
             cluster_id: str | None = None, verified: bool | None = None) -> list[Factory]:
        query = (sa.select(FactoryRow).where(FactoryRow.retired_at.is_(None))
                 .order_by(FactoryRow.id).limit(limit))
        if firm_id is not None:
            query = query.where(FactoryRow.firm_id == firm_id)
        if cluster_id is not None:
            query = query.where(FactoryRow.cluster_id == cluster_id)
        if verified is not None:
            query = query.where(FactoryRow.tier_verification_pending.is_(not verified))
        if after:
            query = query.where(FactoryRow.id > after)
        return [_factory(r) for r in self.session.scalars(query)]


_IN_SERVICE = MachineRow.retired_at.is_(None)


class MachineRepository(_Repository):
    def add(self, machine: Machine) -> None:
        self.session.add(MachineRow(**vars(machine), created_at=_now()))

    def get(self, machine_id: str, *, lock: bool = False) -> Machine | None:
        query = sa.select(MachineRow).where(MachineRow.id == machine_id, _IN_SERVICE)
        if lock:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return row and _machine(row)

    def save(self, machine: Machine) -> None:
        """What a supplier may change: name, materials, hourly rate; and retirement."""
        self.session.execute(sa.update(MachineRow).where(MachineRow.id == machine.id).values(
            name=machine.name, materials=list(machine.materials),
            hourly_rate=machine.hourly_rate, retired_at=machine.retired_at))

    def for_factory(self, factory_id: str, *, lock: bool = False) -> list[Machine]:
        query = (sa.select(MachineRow).where(MachineRow.factory_id == factory_id, _IN_SERVICE)
                 .order_by(MachineRow.id))
        if lock:  # PostgreSQL: rows locked in id order; SQLite: BEGIN IMMEDIATE already
            query = query.with_for_update()
        return [_machine(r) for r in self.session.scalars(query)]

    def refs(self, machine_ids: Iterable[str], *, firm_id: str,
             lock: bool = False) -> dict[str, MachineRef]:
        ids = sorted(set(machine_ids))
        if not ids:
            return {}
        query = (sa.select(MachineRow.id, MachineRow.factory_id, FactoryRow.cluster_id)
                 .join(FactoryRow, FactoryRow.id == MachineRow.factory_id)
                 .where(MachineRow.id.in_(ids), FactoryRow.firm_id == firm_id, _IN_SERVICE)
                 .order_by(MachineRow.id))
        if lock:  # PostgreSQL: machine rows locked in id order; SQLite: BEGIN IMMEDIATE already
            query = query.with_for_update(of=MachineRow)
        return {r.id: MachineRef(r.id, r.factory_id, r.cluster_id)
                for r in self.session.execute(query)}


_WINDOW = (sa.select(WindowRow, MachineRow.factory_id, FactoryRow.cluster_id)
           .join(MachineRow, MachineRow.id == WindowRow.machine_id)
           .join(FactoryRow, FactoryRow.id == MachineRow.factory_id)
           .where(WindowRow.closed_at.is_(None))
           .execution_options(populate_existing=True))
_FREE = WindowRow.hours - WindowRow.held_hours - WindowRow.accepted_hours


def _window_fields(window: Window) -> dict:
    return {k: v for k, v in vars(window).items() if k not in ("factory_id", "cluster_id")}


class WindowRepository(_Repository):
    def add(self, window: Window) -> None:
        self.session.add(WindowRow(**_window_fields(window), created_at=_now()))

    def add_many(self, windows: list[Window]) -> None:
        """One bulk INSERT (executemany) for many new windows."""
        if windows:
            now = _now()
            self.session.execute(sa.insert(WindowRow),
                                 [_window_fields(w) | {"created_at": now} for w in windows])

    def get(self, window_id: str) -> Window | None:
        return self.get_many([window_id]).get(window_id)

    def get_many(self, window_ids: Iterable[str], *, lock: bool = False) -> dict[str, Window]:
        ids = sorted(set(window_ids))
        if not ids:
            return {}
        query = _WINDOW.where(WindowRow.id.in_(ids)).order_by(WindowRow.id)
        if lock:  # PostgreSQL: rows locked in id order; SQLite: BEGIN IMMEDIATE already
            query = query.with_for_update(of=WindowRow)
        return {w.id: w for w in map(_window, self.session.execute(query))}

    def for_machine(self, machine_id: str) -> list[Window]:
        return self.for_machines([machine_id])

    def page_for_machine(self, machine_id: str, *, after: str | None,
                         limit: int) -> list[Window]:
        query = (_WINDOW.where(WindowRow.machine_id == machine_id)
                 .order_by(WindowRow.start, WindowRow.id).limit(limit))
        if after:  # keyset: the windows after the cursor window in (start, id) order
            anchor = sa.select(WindowRow.start).where(WindowRow.id == after).scalar_subquery()
            query = query.where(sa.or_(WindowRow.start > anchor,
                                       sa.and_(WindowRow.start == anchor, WindowRow.id > after)))
        return [_window(r) for r in self.session.execute(query)]

    def for_machines(self, machine_ids: Iterable[str]) -> list[Window]:
        ids = sorted(set(machine_ids))
        if not ids:
            return []
        query = _WINDOW.where(WindowRow.machine_id.in_(ids)).order_by(WindowRow.start)
        return [_window(r) for r in self.session.execute(query)]

    def save_hours(self, window: Window) -> None:
        # every hold writes this: a Core statement, compiled once (not an ORM bulk update)
        self._advance(window, self.session.execute(_SAVE_HOURS, {
            "w_id": window.id, "w_version": window.version, "held": window.held_hours,
            "accepted": window.accepted_hours, "next": window.version + 1}))

    def save(self, window: Window) -> None:
        self._compare_and_set(window, start=window.start, end=window.end, hours=window.hours,
                              held_hours=window.held_hours,
                              accepted_hours=window.accepted_hours, closed_at=window.closed_at)

    def _compare_and_set(self, window: Window, **values: object) -> None:
        result = self.session.execute(
            sa.update(WindowRow)
            .where(WindowRow.id == window.id, WindowRow.version == window.version)
            .values(**values, version=window.version + 1)
            .execution_options(synchronize_session=False)
        )
        self._advance(window, result)

    @staticmethod
    def _advance(window: Window, result: Any) -> None:
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"window {window.id} is no longer at version {window.version}")
        window.version += 1

    def free_slots(self, cluster_id: str, *, process: str | None,
                   after: datetime) -> list[FreeSlot]:
        query = (sa.select(FactoryRow.id, MachineRow.process, FactoryRow.verified_tier,
                           WindowRow.start, WindowRow.end, _FREE.label("free"))
                 .join(MachineRow, MachineRow.id == WindowRow.machine_id)
                 .join(FactoryRow, FactoryRow.id == MachineRow.factory_id)
                 .where(FactoryRow.cluster_id == cluster_id, WindowRow.closed_at.is_(None),
                        WindowRow.end > after, _FREE > EPSILON))
        if process is not None:
            query = query.where(MachineRow.process == process)
        return [FreeSlot(factory_id=r.id, process=r.process, verified_tier=r.verified_tier,
                         start=r.start, end=r.end, free_hours=r.free)
                for r in self.session.execute(query)]


class ReservationRepository(_Repository):
    def add(self, reservation: Reservation) -> None:
        row = vars(reservation) | {"job": _job_json(reservation.job)}
        self.session.add(ReservationRow(**row))

    def get(self, reservation_id: str, *, lock: bool = False) -> Reservation | None:
        """``lock``: for a status change — PostgreSQL then makes a concurrent change of the same
        reservation wait, and this read sees its outcome (SQLite has one writer anyway)."""
        row = self.session.get(ReservationRow, reservation_id, populate_existing=True,
                               with_for_update=lock or None)
        return row and _reservation(row)

    def active_for_steps(self, step_ids: Iterable[str]) -> dict[str, Reservation]:
        query = sa.select(ReservationRow).where(
            ReservationRow.step_id.in_(sorted(set(step_ids))),
            # the partial index's own predicate, as literals: a bound "status IN (?, ?)" hides
            # from SQLite that the index applies, and every active reservation is scanned
            sa.text(ACTIVE_STATUSES),
        )
        return {r.step_id: _reservation(r) for r in self.session.scalars(query)}

    def active_for_order(self, order_id: str, *, lock: bool = False) -> list[Reservation]:
        query = sa.select(ReservationRow).where(
            ReservationRow.order_id == order_id,
            ReservationRow.status.in_([s.value for s in ACTIVE]),
        ).order_by(ReservationRow.id).execution_options(populate_existing=True)
        if lock:
            query = query.with_for_update()
        return [_reservation(r) for r in self.session.scalars(query)]

    def due_holds(self, now: datetime, *, limit: int) -> list[Reservation]:
        query = (sa.select(ReservationRow)
                 .where(ReservationRow.status == Status.HELD.value,
                        ReservationRow.expires_at <= now)
                 .order_by(ReservationRow.expires_at, ReservationRow.id).limit(limit)
                 .execution_options(populate_existing=True))
        return [_reservation(r) for r in self.session.scalars(query)]

    def save_status(self, reservation: Reservation, *, expected: Status) -> None:
        result = self.session.execute(
            sa.update(ReservationRow)
            .where(ReservationRow.id == reservation.id, ReservationRow.status == expected.value)
            .values(status=reservation.status.value, reason=reservation.reason,
                    updated_at=reservation.updated_at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"reservation {reservation.id} is no longer {expected}")

    def latest_step_holds(self, order_ids: Iterable[str]) -> dict[str, list[StepHold]]:
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        query = (sa.select(ReservationRow.order_id, ReservationRow.step_id,
                           ReservationRow.status, ReservationRow.job,
                           ReservationRow.completed_at)
                 .where(ReservationRow.order_id.in_(ids))
                 .order_by(ReservationRow.created_at, ReservationRow.id))
        latest: dict[str, dict[str, StepHold]] = {}
        for order_id, step_id, status, job, completed_at in self.session.execute(query):
            latest.setdefault(order_id, {})[step_id] = StepHold(  # later ones win
                step_id, (job or {}).get("step"), Status(status), completed_at is not None)
        return {order_id: list(steps.values()) for order_id, steps in latest.items()}

    def completed_hours(self, window_ids: Iterable[str]) -> dict[str, float]:
        """Window id → hours accepted on it whose work is reported completed."""
        ids = sorted(set(window_ids))
        if not ids:
            return {}
        query = (sa.select(ReservationRow.window_id, sa.func.sum(ReservationRow.hours))
                 .where(ReservationRow.window_id.in_(ids), *_WORK_DONE)
                 .group_by(ReservationRow.window_id))
        return {window_id: float(hours) for window_id, hours in self.session.execute(query)}

    def save_production(self, reservation: Reservation) -> None:
        """The work's start and end; only while accepted and not completed (a release or a
        completion committed meanwhile is a ConcurrentUpdate)."""
        result = self.session.execute(
            sa.update(ReservationRow)
            .where(ReservationRow.id == reservation.id,
                   ReservationRow.status == Status.ACCEPTED.value,
                   ReservationRow.completed_at.is_(None))
            .values(started_at=reservation.started_at, completed_at=reservation.completed_at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"reservation {reservation.id} is no longer accepted and open")

    def page(self, *, firm_id: str | None, status: Status | None, after: str | None,
             limit: int, factory_id: str | None = None,
             order_id: str | None = None, production: str | None = None) -> list[Reservation]:
        query = sa.select(ReservationRow).order_by(ReservationRow.id).limit(limit)
        if production is not None:
            query = query.where(*_PRODUCTION[production])
        if firm_id is not None:
            owned = sa.select(FactoryRow.id).where(FactoryRow.firm_id == firm_id)
            query = query.where(ReservationRow.factory_id.in_(owned))
        if factory_id is not None:
            query = query.where(ReservationRow.factory_id == factory_id)
        if order_id is not None:
            query = query.where(ReservationRow.order_id == order_id)
        if status is not None:
            query = query.where(ReservationRow.status == status.value)
        if after:
            query = query.where(ReservationRow.id > after)
        return [_reservation(r) for r in self.session.scalars(query)]


# accepted hours whose work is reported completed
_WORK_DONE = (ReservationRow.status == Status.ACCEPTED.value,
              ReservationRow.completed_at.is_not(None))
# Reservation.production as a filter
_PRODUCTION = {
    "not_started": (ReservationRow.status == Status.ACCEPTED.value,
                    ReservationRow.started_at.is_(None)),
    "started": (ReservationRow.started_at.is_not(None), ReservationRow.completed_at.is_(None)),
    "completed": (ReservationRow.completed_at.is_not(None),),
}


class OrderRepository(_Repository):
    def lock(self, order_id: str, *, cluster_id: str) -> bool:
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        self.session.execute(
            dialect.insert(OrderRow)
            .values(id=order_id, cluster_id=cluster_id, created_at=_now())
            .on_conflict_do_nothing(index_elements=[OrderRow.id])
        )
        query = sa.select(OrderRow.cancelled_at).where(OrderRow.id == order_id)
        return self.session.execute(query.with_for_update()).scalar_one() is not None

    def cancel(self, order_id: str, *, at: datetime, reason: str | None) -> None:
        self.session.execute(
            sa.update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.cancelled_at.is_(None))
            .values(cancelled_at=at, cancel_reason=reason)
            .execution_options(synchronize_session=False)
        )


def _cluster(r: ClusterRow) -> Cluster:
    return Cluster(id=r.id, name=r.name, lat=r.lat, lon=r.lon, max_distance_km=r.max_distance_km)


def _factory(r: FactoryRow) -> Factory:
    return Factory(id=r.id, firm_id=r.firm_id, cluster_id=r.cluster_id, name=r.name, lat=r.lat,
                   lon=r.lon, declared_tier=r.declared_tier, sme=r.sme,
                   certifications=list(r.certifications), verified_tier=r.verified_tier,
                   tier_verification_pending=r.tier_verification_pending,
                   retired_at=r.retired_at)


def _machine(r: MachineRow) -> Machine:
    return Machine(id=r.id, factory_id=r.factory_id, name=r.name, process=r.process,
                   materials=list(r.materials), hourly_rate=r.hourly_rate,
                   retired_at=r.retired_at)


def _window(row: sa.Row) -> Window:
    w, factory_id, cluster_id = row
    return Window(id=w.id, machine_id=w.machine_id, factory_id=factory_id, cluster_id=cluster_id,
                  start=w.start, end=w.end, hours=w.hours, held_hours=w.held_hours,
                  accepted_hours=w.accepted_hours, version=w.version,
                  closed_at=w.closed_at)


def _reservation(r: ReservationRow) -> Reservation:
    return Reservation(
        id=r.id, order_id=r.order_id, step_id=r.step_id, window_id=r.window_id,
        factory_id=r.factory_id, cluster_id=r.cluster_id, hours=r.hours, price=r.price,
        expires_at=r.expires_at, created_at=r.created_at, status=Status(r.status),
        match_run_id=r.match_run_id, reason=r.reason,
        updated_at=r.updated_at, job=_job(r.job), started_at=r.started_at,
        completed_at=r.completed_at,
    )


def _job_json(job: Job | None) -> dict[str, Any] | None:
    return None if job is None else vars(job) | {
        "due": job.due.isoformat(), "after": [vars(p) for p in job.after]}


def _job(stored: dict[str, Any] | None) -> Job | None:
    """A stored job; one stored before proposals named steps has no step and no after."""
    if stored is None:
        return None
    return Job(**(stored | {"due": datetime.fromisoformat(stored["due"]),
                            "after": tuple(PrecedingStep(**p) for p in stored.get("after", ()))}))
