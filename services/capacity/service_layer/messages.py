"""Outgoing event envelopes built from domain objects (payload classes from shared.events)."""

from __future__ import annotations

from services.capacity.domain.holding import Refusal
from services.capacity.domain.model import Cluster, Factory, Machine
from services.capacity.domain.reservations import Reservation
from services.capacity.domain.windows import Window
from shared.events import Envelope, EventPayload, new_event
from shared.events.payloads import (
    ClusterCreated,
    FactoryRegistered,
    FactoryUpdated,
    MachineAdded,
    MachineUpdated,
    ReservationAccepted,
    ReservationCompleted,
    ReservationDeclined,
    ReservationExpired,
    ReservationHeld,
    ReservationRejected,
    ReservationReleased,
    ReservationStarted,
    WindowClosed,
    WindowOpened,
    WindowUpdated,
)

PRODUCER = "capacity"


def _event(payload: EventPayload, *, key: str, correlation_id: str | None = None,
           causation_id: str | None = None) -> Envelope:
    return new_event(payload, key=key, producer=PRODUCER, correlation_id=correlation_id,
                     causation_id=causation_id)


def cluster_created(c: Cluster) -> Envelope:
    return _event(ClusterCreated(cluster_id=c.id, name=c.name, lat=c.lat, lon=c.lon,
                                 max_distance_km=c.max_distance_km), key=c.id)


def factory_state(f: Factory, *, registered: bool) -> Envelope:
    cls = FactoryRegistered if registered else FactoryUpdated
    payload = cls(
        factory_id=f.id, firm_id=f.firm_id, cluster_id=f.cluster_id, name=f.name, lat=f.lat,
        lon=f.lon, declared_tier=f.declared_tier, verified_tier=f.verified_tier, sme=f.sme,
        certifications=list(f.certifications),
    )
    return _event(payload, key=f.cluster_id, correlation_id=f.id)


def machine_state(m: Machine, *, cluster_id: str, added: bool) -> Envelope:
    cls = MachineAdded if added else MachineUpdated
    payload = cls(machine_id=m.id, factory_id=m.factory_id, cluster_id=cluster_id, name=m.name,
                  process=m.process, materials=list(m.materials), hourly_rate=m.hourly_rate)
    return _event(payload, key=cluster_id, correlation_id=m.factory_id)


def window_opened(w: Window) -> Envelope:
    return _window_state(WindowOpened, w)


def window_updated(w: Window) -> Envelope:
    return _window_state(WindowUpdated, w)


def _window_state(cls: type[WindowOpened] | type[WindowUpdated], w: Window) -> Envelope:
    payload = cls(window_id=w.id, machine_id=w.machine_id, factory_id=w.factory_id,
                  cluster_id=w.cluster_id, start=w.start, end=w.end, hours=w.hours)
    return _event(payload, key=w.cluster_id, correlation_id=w.factory_id)


def window_closed(w: Window) -> Envelope:
    payload = WindowClosed(window_id=w.id, machine_id=w.machine_id, factory_id=w.factory_id,
                           cluster_id=w.cluster_id)
    return _event(payload, key=w.cluster_id, correlation_id=w.factory_id)


def _ref(r: Reservation) -> dict:
    return {"cluster_id": r.cluster_id, "order_id": r.order_id, "step_id": r.step_id,
            "window_id": r.window_id, "hours": r.hours}


def reservation_held(r: Reservation, *, causation_id: str) -> Envelope:
    payload = ReservationHeld(**_ref(r), reservation_id=r.id, factory_id=r.factory_id,
                              price=r.price, expires_at=r.expires_at, match_run_id=r.match_run_id)
    return _event(payload, key=r.cluster_id, correlation_id=r.order_id, causation_id=causation_id)


def reservation_rejected(refusal: Refusal, *, cluster_id: str, order_id: str,
                         match_run_id: str | None, causation_id: str) -> Envelope:
    payload = ReservationRejected(
        cluster_id=cluster_id, order_id=order_id, step_id=refusal.step_id,
        window_id=refusal.window_id, hours=refusal.hours, reason=refusal.reason,
        match_run_id=match_run_id,
    )
    return _event(payload, key=cluster_id, correlation_id=order_id, causation_id=causation_id)


def reservation_accepted(r: Reservation, *, factory_name: str) -> Envelope:
    payload = ReservationAccepted(**_ref(r), reservation_id=r.id, factory_id=r.factory_id,
                                  factory_name=factory_name, price=r.price)
    return _event(payload, key=r.cluster_id, correlation_id=r.order_id)


def reservation_started(r: Reservation) -> Envelope:
    payload = ReservationStarted(**_ref(r), reservation_id=r.id, factory_id=r.factory_id,
                                 started_at=r.started_at)
    return _event(payload, key=r.cluster_id, correlation_id=r.order_id)


def reservation_completed(r: Reservation) -> Envelope:
    payload = ReservationCompleted(**_ref(r), reservation_id=r.id, factory_id=r.factory_id,
                                   started_at=r.started_at, completed_at=r.completed_at)
    return _event(payload, key=r.cluster_id, correlation_id=r.order_id)


def reservation_declined(r: Reservation) -> Envelope:
    payload = ReservationDeclined(**_ref(r), reservation_id=r.id, factory_id=r.factory_id,
                                  reason=r.reason or "")
    return _event(payload, key=r.cluster_id, correlation_id=r.order_id)


def reservation_expired(r: Reservation) -> Envelope:
    payload = ReservationExpired(**_ref(r), reservation_id=r.id, factory_id=r.factory_id)
    return _event(payload, key=r.cluster_id, correlation_id=r.order_id)


def reservation_released(r: Reservation, *, causation_id: str) -> Envelope:
    payload = ReservationReleased(**_ref(r), reservation_id=r.id, factory_id=r.factory_id,
                                  reason=r.reason or "")
    return _event(payload, key=r.cluster_id, correlation_id=r.order_id, causation_id=causation_id)
