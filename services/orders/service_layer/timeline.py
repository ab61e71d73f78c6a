"""What the timeline records of each event: a small summary a buyer may read.

Before a supplier accepted a step, the buyer learns its status, hours and price, never the
factory, machine, window or reservation; free text from other firms (a supplier's decline
reason, capacity's refusal detail) is cut to its leading reason code. Only the summary of
reservation.accepted names the factory (TimelineEntry refuses anything else).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.orders.domain.model import Order
from services.orders.domain.timeline import TimelineEntry, reason_code
from shared.events import Envelope, EventPayload
from shared.events.payloads import (
    AllocationProposed,
    ReservationAccepted,
    ReservationCompleted,
    ReservationDeclined,
    ReservationExpired,
    ReservationHeld,
    ReservationRejected,
    ReservationReleased,
    ReservationStarted,
    StepUnplaced,
)


def entry(
    envelope: Envelope,
    *,
    order_id: str,
    summary: Mapping[str, Any],
    step_id: str | None = None,
) -> TimelineEntry:
    return TimelineEntry(order_id=order_id, event_id=str(envelope.event_id), type=envelope.type,
                         occurred_at=envelope.occurred_at, step_id=step_id, summary=summary)


def submitted(order: Order, envelope: Envelope) -> TimelineEntry:
    summary: dict[str, Any] = {"steps": len(order.steps)}
    if order.revision_of is not None:
        summary["revision_of"] = order.revision_of
    return entry(envelope, order_id=order.id, summary=summary)


def cancelled(order: Order, envelope: Envelope, *, reason: str | None) -> TimelineEntry:
    return entry(envelope, order_id=order.id,
                 summary={"steps": len(order.steps), "reason": reason})


def consumed(
    envelope: Envelope, payload: EventPayload, *, order_id: str, ignored: Mapping[str, str]
) -> TimelineEntry:
    """The entry of an incoming event; ``ignored`` = steps it did not change, and why."""
    summary = dict(_summary(payload))
    if ignored:
        summary["ignored"] = dict(ignored)
    return entry(envelope, order_id=order_id, summary=summary,
                 step_id=getattr(payload, "step_id", None))


def _summary(p: EventPayload) -> Mapping[str, Any]:
    if isinstance(p, AllocationProposed):
        steps = [{"step_id": a.step_id, "hours": a.hours, "price": a.price}
                 for a in p.allocations]
        return {"steps": steps, "price": round(sum(a.price for a in p.allocations), 2)}
    if isinstance(p, StepUnplaced):
        return {"reason": reason_code(p.reason)}
    if isinstance(p, ReservationHeld):
        return {"hours": p.hours, "price": p.price, "expires_at": p.expires_at.isoformat()}
    if isinstance(p, ReservationAccepted):
        return {"factory_id": p.factory_id, "factory_name": p.factory_name,
                "window_id": p.window_id, "hours": p.hours, "price": p.price}
    if isinstance(p, ReservationRejected | ReservationReleased):
        return {"hours": p.hours, "reason": reason_code(p.reason)}
    if isinstance(p, ReservationDeclined | ReservationExpired):
        return {"hours": p.hours}
    if isinstance(p, ReservationStarted):
        return {"started_at": p.started_at.isoformat()}
    if isinstance(p, ReservationCompleted):
        return {"started_at": p.started_at.isoformat(),
                "completed_at": p.completed_at.isoformat()}
    return {}
