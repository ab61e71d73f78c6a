"""Repositories: domain objects in, domain objects out (ORM rows never leave this module)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.capacity.adapters.orm import (
    ClusterRow,
    FactoryRow,
    MachineRow,
    ReservationRow,
    WindowRow,
)
from services.capacity.domain.model import Cluster, Factory, Machine
from services.capacity.domain.reservations import ACTIVE, Reservation, Status
from services.capacity.domain.windows import Window
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


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

    def get(self, factory_id: str) -> Factory | None:
        row = self.session.get(FactoryRow, factory_id)
        return row and _factory(row)

    def save(self, factory: Factory) -> None:
        self.session.execute(sa.update(FactoryRow).where(FactoryRow.id == factory.id).values(
            verified_tier=factory.verified_tier))

    def page(self, *, firm_id: str | None, after: str | None, limit: int) -> list[Factory]:
        query = sa.select(FactoryRow).order_by(FactoryRow.id).limit(limit)
        if firm_id is not None:
            query = query.where(FactoryRow.firm_id == firm_id)
        if after:
            query = query.where(FactoryRow.id > after)
        return [_factory(r) for r in self.session.scalars(query)]


class MachineRepository(_Repository):
    def add(self, machine: Machine) -> None:
        self.session.add(MachineRow(**vars(machine), created_at=_now()))

    def get(self, machine_id: str, *, lock: bool = False) -> Machine | None:
        query = sa.select(MachineRow).where(MachineRow.id == machine_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return row and _machine(row)

    def for_factory(self, factory_id: str) -> list[Machine]:
        query = sa.select(MachineRow).where(MachineRow.factory_id == factory_id)
        return [_machine(r) for r in self.session.scalars(query.order_by(MachineRow.id))]


_WINDOW = (sa.select(WindowRow, MachineRow.factory_id, FactoryRow.cluster_id)
           .join(MachineRow, MachineRow.id == WindowRow.machine_id)
           .join(FactoryRow, FactoryRow.id == MachineRow.factory_id)
           .execution_options(populate_existing=True))


class WindowRepository(_Repository):
    def add(self, window: Window) -> None:
        fields = {k: v for k, v in vars(window).items() if k not in ("factory_id", "cluster_id")}
        self.session.add(WindowRow(**fields, created_at=_now()))

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
        query = _WINDOW.where(WindowRow.machine_id == machine_id).order_by(WindowRow.start)
        return [_window(r) for r in self.session.execute(query)]

    def save_hours(self, window: Window) -> None:
        result = self.session.execute(
            sa.update(WindowRow)
            .where(WindowRow.id == window.id, WindowRow.version == window.version)
            .values(held_hours=window.held_hours, accepted_hours=window.accepted_hours,
                    version=window.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"window {window.id} is no longer at version {window.version}")
        window.version += 1


class ReservationRepository(_Repository):
    def add(self, reservation: Reservation) -> None:
        self.session.add(ReservationRow(**vars(reservation)))

    def get(self, reservation_id: str) -> Reservation | None:
        row = self.session.get(ReservationRow, reservation_id, populate_existing=True)
        return row and _reservation(row)

    def active_for_steps(self, step_ids: Iterable[str]) -> dict[str, Reservation]:
        query = sa.select(ReservationRow).where(
            ReservationRow.step_id.in_(sorted(set(step_ids))),
            ReservationRow.status.in_([s.value for s in ACTIVE]),
        )
        return {r.step_id: _reservation(r) for r in self.session.scalars(query)}

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

    def page(self, *, firm_id: str | None, status: Status | None, after: str | None,
             limit: int) -> list[Reservation]:
        query = sa.select(ReservationRow).order_by(ReservationRow.id).limit(limit)
        if firm_id is not None:
            owned = sa.select(FactoryRow.id).where(FactoryRow.firm_id == firm_id)
            query = query.where(ReservationRow.factory_id.in_(owned))
        if status is not None:
            query = query.where(ReservationRow.status == status.value)
        if after:
            query = query.where(ReservationRow.id > after)
        return [_reservation(r) for r in self.session.scalars(query)]


def _cluster(r: ClusterRow) -> Cluster:
    return Cluster(id=r.id, name=r.name, lat=r.lat, lon=r.lon, max_distance_km=r.max_distance_km)


def _factory(r: FactoryRow) -> Factory:
    return Factory(id=r.id, firm_id=r.firm_id, cluster_id=r.cluster_id, name=r.name, lat=r.lat,
                   lon=r.lon, declared_tier=r.declared_tier, sme=r.sme,
                   certifications=list(r.certifications), verified_tier=r.verified_tier)


def _machine(r: MachineRow) -> Machine:
    return Machine(id=r.id, factory_id=r.factory_id, name=r.name, process=r.process,
                   materials=list(r.materials), hourly_rate=r.hourly_rate)


def _window(row: sa.Row) -> Window:
    w, factory_id, cluster_id = row
    return Window(id=w.id, machine_id=w.machine_id, factory_id=factory_id, cluster_id=cluster_id,
                  start=_utc(w.start), end=_utc(w.end), hours=w.hours, held_hours=w.held_hours,
                  accepted_hours=w.accepted_hours, version=w.version)


def _reservation(r: ReservationRow) -> Reservation:
    return Reservation(
        id=r.id, order_id=r.order_id, step_id=r.step_id, window_id=r.window_id,
        factory_id=r.factory_id, cluster_id=r.cluster_id, hours=r.hours, price=r.price,
        expires_at=_utc(r.expires_at), created_at=_utc(r.created_at), status=Status(r.status),
        match_run_id=r.match_run_id, reason=r.reason,
        updated_at=r.updated_at and _utc(r.updated_at),
    )
