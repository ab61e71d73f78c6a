"""Builders of the incoming events of DESIGN §5's walk-through, for unit and integration tests.

Cluster ``qhd-auto``; factory ``fac-1`` (firm-s1, verified advanced, SME, ISO9001) with the mill
``mch-1`` (180 CNY/h); window ``win-1`` (20 h, T0 … T0 + 48 h); order ``ord-1`` of buyer firm-b1
with one 6 h milling step ``stp-1``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import Envelope, EventPayload, new_event
from shared.events import payloads as ev

CLUSTER = "qhd-auto"


def default_t0() -> datetime:
    """A start time in the future, so windows are still usable for a real-clock run."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


def envelope(payload: EventPayload) -> tuple[Envelope, EventPayload]:
    key = getattr(payload, "cluster_id", CLUSTER)
    return new_event(payload, key=key, producer="test"), payload


def cluster_created(cluster_id: str = CLUSTER) -> ev.ClusterCreated:
    return ev.ClusterCreated(cluster_id=cluster_id, name="Qinhuangdao auto parts", lat=39.93,
                             lon=119.60, max_distance_km=60)


def factory(cls: type[ev.FactoryState] = ev.FactoryRegistered, *, factory_id: str = "fac-1",
            verified_tier: str | None = None, **kw: Any) -> ev.FactoryState:
    fields: dict[str, Any] = dict(
        factory_id=factory_id, firm_id="firm-s1", cluster_id=CLUSTER, name="Haigang Precision",
        lat=39.95, lon=119.58, declared_tier="advanced", verified_tier=verified_tier, sme=True,
        certifications=["ISO9001"])
    return cls(**{**fields, **kw})


def machine_added(machine_id: str = "mch-1", *, factory_id: str = "fac-1",
                  hourly_rate: float = 180.0, process: str = "cnc_milling",
                  materials: tuple[str, ...] = ("steel", "aluminium"),
                  cls: type[ev.MachineState] = ev.MachineAdded) -> ev.MachineState:
    return cls(machine_id=machine_id, factory_id=factory_id, cluster_id=CLUSTER,
               name="5-axis mill", process=process, materials=list(materials),
               hourly_rate=hourly_rate)


def machine_updated(machine_id: str = "mch-1", **kw: Any) -> ev.MachineState:
    return machine_added(machine_id, cls=ev.MachineUpdated, **kw)


def window_opened(t0: datetime, window_id: str = "win-1", *, machine_id: str = "mch-1",
                  factory_id: str = "fac-1", hours: float = 20.0,
                  end_h: float = 48) -> ev.WindowOpened:
    return ev.WindowOpened(window_id=window_id, machine_id=machine_id, factory_id=factory_id,
                           cluster_id=CLUSTER, start=t0, end=t0 + timedelta(hours=end_h),
                           hours=hours)


def order_submitted(t0: datetime, order_id: str = "ord-1", *, step_ids: tuple[str, ...] = (),
                    hours: float = 6.0, **kw: Any) -> ev.OrderSubmitted:
    steps = [ev.SubmittedStep(step_id=sid, key=f"k{i}", process="cnc_milling", material="steel",
                              quantity=500, hours=hours, after=[])
             for i, sid in enumerate(step_ids or (f"stp-{order_id.split('-')[-1]}",))]
    fields: dict[str, Any] = dict(
        order_id=order_id, buyer_firm_id="firm-b1", cluster_id=CLUSTER, title="Brackets",
        delivery_lat=39.94, delivery_lon=119.55, due=t0 + timedelta(days=7), min_tier="basic",
        certifications=[], max_distance_km=60, priority=3, budget=None, allowed_factories=[],
        blocked_factories=[], max_factories=None, steps=steps)
    return ev.OrderSubmitted(**{**fields, **kw})


def walkthrough(t0: datetime) -> list[EventPayload]:
    """cluster.created … order.submitted, in the order capacity and orders emit them."""
    return [cluster_created(), factory(), factory(ev.FactoryUpdated, verified_tier="advanced"),
            machine_added(), window_opened(t0), order_submitted(t0)]


def rejected(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
             run_id: str | None = None, hours: float = 6.0,
             reason: str = "capacity_exceeded: window win-1 has 2 h free, 6.0 h asked",
             ) -> ev.ReservationRejected:
    return ev.ReservationRejected(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                  window_id=window_id, hours=hours, reason=reason,
                                  match_run_id=run_id)


def held(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
         price: float = 1085.58, hours: float = 6.0) -> ev.ReservationHeld:
    return ev.ReservationHeld(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                              window_id=window_id, hours=hours, reservation_id=f"res-{step_id}",
                              factory_id="fac-1", price=price,
                              expires_at=datetime.now(UTC) + timedelta(hours=24))


def accepted(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
             price: float = 1085.58, hours: float = 6.0) -> ev.ReservationAccepted:
    return ev.ReservationAccepted(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                  window_id=window_id, hours=hours,
                                  reservation_id=f"res-{step_id}", factory_id="fac-1",
                                  factory_name="Haigang Precision", price=price)


def started(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
            hours: float = 6.0, at: datetime | None = None) -> ev.ReservationStarted:
    return ev.ReservationStarted(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                 window_id=window_id, hours=hours,
                                 reservation_id=f"res-{step_id}", factory_id="fac-1",
                                 started_at=at or datetime.now(UTC))


def completed(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
              hours: float = 6.0, at: datetime | None = None) -> ev.ReservationCompleted:
    done = at or datetime.now(UTC)
    return ev.ReservationCompleted(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                   window_id=window_id, hours=hours,
                                   reservation_id=f"res-{step_id}", factory_id="fac-1",
                                   started_at=done - timedelta(hours=hours), completed_at=done)


def declined(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
             hours: float = 6.0) -> ev.ReservationDeclined:
    return ev.ReservationDeclined(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                  window_id=window_id, hours=hours,
                                  reservation_id=f"res-{step_id}", factory_id="fac-1",
                                  reason="machine down")


def expired(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
            hours: float = 6.0) -> ev.ReservationExpired:
    return ev.ReservationExpired(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                 window_id=window_id, hours=hours,
                                 reservation_id=f"res-{step_id}", factory_id="fac-1")


def released(*, step_id: str = "stp-1", window_id: str = "win-1", order_id: str = "ord-1",
             hours: float = 6.0, reason: str = "order_cancelled") -> ev.ReservationReleased:
    return ev.ReservationReleased(cluster_id=CLUSTER, order_id=order_id, step_id=step_id,
                                  window_id=window_id, hours=hours,
                                  reservation_id=f"res-{step_id}", factory_id="fac-1",
                                  reason=reason)


def order_cancelled(order_id: str = "ord-1", *, step_ids: tuple[str, ...] = ("stp-1",),
                    reason: str | None = "customer withdrew") -> ev.OrderCancelled:
    return ev.OrderCancelled(order_id=order_id, cluster_id=CLUSTER, buyer_firm_id="firm-b1",
                             step_ids=list(step_ids), reason=reason)


def window_updated(t0: datetime, window_id: str = "win-1", *, machine_id: str = "mch-1",
                   factory_id: str = "fac-1", hours: float = 20.0, end_h: float = 48,
                   start_h: float = 0) -> ev.WindowUpdated:
    return ev.WindowUpdated(window_id=window_id, machine_id=machine_id, factory_id=factory_id,
                            cluster_id=CLUSTER, start=t0 + timedelta(hours=start_h),
                            end=t0 + timedelta(hours=end_h), hours=hours)


def window_closed(window_id: str = "win-1", *, machine_id: str = "mch-1",
                  factory_id: str = "fac-1") -> ev.WindowClosed:
    return ev.WindowClosed(window_id=window_id, machine_id=machine_id, factory_id=factory_id,
                           cluster_id=CLUSTER)
