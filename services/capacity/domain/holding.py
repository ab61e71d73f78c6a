"""Holding one order's proposed allocations: all of them, or none.

An allocation fits when its window exists in the order's cluster, the step holds no active
reservation yet, and the window's free hours (after what earlier allocations of the same order
take from it) cover the hours asked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.capacity.domain.reservations import Job, Reservation
from services.capacity.domain.windows import EPSILON, Window

ORDER_INCOMPLETE = "order_incomplete"
UNKNOWN_WINDOW = "unknown_window"
ORDER_CANCELLED = "order_cancelled"


@dataclass(frozen=True)
class Ask:
    step_id: str
    window_id: str
    hours: float
    price: float
    job: Job | None = None


@dataclass(frozen=True)
class Refusal:
    step_id: str
    window_id: str
    hours: float
    reason: str


@dataclass
class HoldOutcome:
    reservations: list[Reservation] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)  # changed, in id order

    @property
    def held(self) -> bool:
        return not self.refusals


@dataclass(frozen=True)
class HoldTerms:
    order_id: str
    cluster_id: str
    match_run_id: str | None
    now: datetime
    expires_at: datetime


def refuse_all(asks: Sequence[Ask], reason: str) -> HoldOutcome:
    """Refuse every ask for one reason (e.g. the order was cancelled)."""
    return HoldOutcome(refusals=[Refusal(a.step_id, a.window_id, a.hours, reason) for a in asks])


def place_holds(
    asks: Sequence[Ask],
    *,
    terms: HoldTerms,
    windows: Mapping[str, Window],
    reserved: Mapping[str, Reservation],
    new_id: Callable[[], str],
) -> HoldOutcome:
    """Hold every ask on its window, or refuse them all (nothing changes then)."""
    reasons = _refusal_reasons(asks, cluster_id=terms.cluster_id, windows=windows,
                               reserved=reserved)
    if reasons:
        return HoldOutcome(refusals=[
            Refusal(a.step_id, a.window_id, a.hours, reasons.get(i, ORDER_INCOMPLETE))
            for i, a in enumerate(asks)
        ])
    outcome = HoldOutcome()
    for ask in asks:
        window = windows[ask.window_id]
        window.hold(ask.hours)
        outcome.reservations.append(Reservation(
            id=new_id(), order_id=terms.order_id, step_id=ask.step_id, window_id=window.id,
            factory_id=window.factory_id, cluster_id=terms.cluster_id, hours=ask.hours,
            price=ask.price, expires_at=terms.expires_at, created_at=terms.now,
            match_run_id=terms.match_run_id, job=ask.job,
        ))
    outcome.windows = sorted({a.window_id: windows[a.window_id] for a in asks}.values(),
                             key=lambda w: w.id)
    return outcome


def _refusal_reasons(
    asks: Sequence[Ask],
    *,
    cluster_id: str,
    windows: Mapping[str, Window],
    reserved: Mapping[str, Reservation],
) -> dict[int, str]:
    """Index of each ask that cannot be held → its reason (empty when all fit)."""
    taken: dict[str, float] = defaultdict(float)
    seen: set[str] = set()
    reasons: dict[int, str] = {}
    for i, ask in enumerate(asks):
        window = windows.get(ask.window_id)
        if ask.step_id in seen:
            reasons[i] = f"duplicate_step: step {ask.step_id} appears twice in the proposal"
        elif window is None or window.cluster_id != cluster_id:
            reasons[i] = UNKNOWN_WINDOW
        elif ask.step_id in reserved:
            held = reserved[ask.step_id]
            reasons[i] = (f"already_reserved: step {ask.step_id} has {held.status} "
                          f"reservation {held.id}")
        elif not ask.hours > 0:
            reasons[i] = f"invalid_hours: {ask.hours} h asked"
        else:
            free = window.free_hours - taken[window.id]
            if ask.hours > free + EPSILON:
                reasons[i] = (f"capacity_exceeded: window {window.id} has "
                              f"{round(max(free, 0.0), 3)} h free, {ask.hours} h asked")
            else:
                taken[window.id] += ask.hours
        seen.add(ask.step_id)
    return reasons
