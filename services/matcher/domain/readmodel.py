"""The matcher's read model (fed by capacity and orders events) and how it becomes an Instance.

``StepState`` is the one mutable record: its methods are the step state machine
``pending → proposed → held → accepted`` plus ``unplaced``, and back to ``pending`` when capacity
rejects, a supplier declines or a hold expires (that window is then excluded for the step).
``cancelled`` (the buyer cancelled the order) is final: reachable from every other status, it is
never planned again and its hours count nowhere; later reservation events leave it alone.
An accepted step records when its supplier started and completed the work (``start``,
``complete``): it stays accepted and pinned, and the operator's statistics count it as in
production, then as done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from services.matcher.domain.model import (
    EPS,
    Factory,
    Instance,
    Machine,
    Order,
    Parameters,
    Step,
    Window,
)
from shared.vocabulary import tier_rank

PENDING = "pending"
PROPOSED = "proposed"
HELD = "held"
ACCEPTED = "accepted"
UNPLACED = "unplaced"
CANCELLED = "cancelled"
OPEN = (PENDING, UNPLACED)  # to be planned
PLACED = (PROPOSED, HELD, ACCEPTED)  # hours count against the window; the step is pinned


class StepStateError(Exception):
    """A transition the step's status does not allow."""


@dataclass
class StepState:
    id: str
    order_id: str
    cluster_id: str
    process: str
    hours: float
    material: str | None = None
    key: str = ""
    quantity: int = 0
    after: list[str] = field(default_factory=list)
    position: int = 0
    status: str = PENDING
    window_id: str | None = None
    price: float | None = None
    transport_km: float | None = None
    reason: str | None = None
    detail: str | None = None
    excluded_windows: list[str] = field(default_factory=list)
    match_run_id: str | None = None
    started_at: datetime | None = None  # the supplier started the work (accepted only)
    completed_at: datetime | None = None  # the supplier completed the work (accepted only)

    def propose(self, *, window_id: str, price: float, transport_km: float, run_id: str) -> None:
        if self.status not in OPEN:
            raise StepStateError(f"step {self.id} is {self.status}, cannot be proposed")
        self.status, self.window_id, self.match_run_id = PROPOSED, window_id, run_id
        self.price, self.transport_km = price, transport_km
        self.reason = self.detail = None

    def mark_unplaced(self, *, reason: str, detail: str, run_id: str) -> None:
        if self.status not in OPEN:
            raise StepStateError(f"step {self.id} is {self.status}, cannot be unplaced")
        self._clear_window()
        self.status, self.reason, self.detail, self.match_run_id = UNPLACED, reason, detail, run_id

    def hold(self, *, window_id: str, price: float) -> None:
        if self.status in (ACCEPTED, CANCELLED):
            return  # capacity already reported the later state, or the order is gone
        self.status, self.window_id, self.price = HELD, window_id, price
        self.reason = self.detail = None

    def accept(self, *, window_id: str, price: float) -> None:
        if self.status == CANCELLED:
            return  # capacity releases it (reservation.released)
        self.status, self.window_id, self.price = ACCEPTED, window_id, price
        self.reason = self.detail = None

    def start(self, *, window_id: str, at: datetime) -> bool:
        """The supplier started the work of the accepted hours on ``window_id``; whether that
        changed the step (not for a step accepted elsewhere, cancelled, started or done)."""
        if (self.status != ACCEPTED or self.window_id != window_id or self.started_at
                or self.completed_at):
            return False
        self.started_at = at
        return True

    def complete(self, *, window_id: str, at: datetime, started_at: datetime) -> bool:
        """The supplier completed the work of the accepted hours on ``window_id``, started at
        ``started_at`` (if that was not heard of); whether that changed the step (not for a
        step accepted elsewhere, cancelled, or done)."""
        if self.status != ACCEPTED or self.window_id != window_id or self.completed_at:
            return False
        self.started_at = self.started_at or started_at
        self.completed_at = at
        return True

    def release(self, *, window_id: str, run_id: str | None = None, exclude: bool = True
                ) -> bool:
        """Capacity rejected, the supplier declined, or the hold on ``window_id`` expired.

        The window is excluded for the step from now on (unless ``exclude`` is false: the
        window was not at fault). The step goes back to pending if it still sits on that
        window (and, when a run id is given, from that run). Returns whether the status changed.
        """
        if self.status == CANCELLED:
            return False
        if exclude and window_id not in self.excluded_windows:
            self.excluded_windows.append(window_id)
        if self.status not in (PROPOSED, HELD) or self.window_id != window_id:
            return False
        if run_id is not None and self.match_run_id not in (None, run_id):
            return False
        self.withdraw()
        return True

    def withdraw(self) -> None:
        """Back to pending without excluding anything (a sibling's proposal was rejected, or
        the window it was proposed on closed)."""
        if self.status == CANCELLED:
            return
        self._clear_window()
        self.status, self.reason, self.detail = PENDING, None, None

    def cancel(self, *, detail: str) -> bool:
        """The order was cancelled: the step leaves planning for good and frees its hours.
        Returns whether the status changed (False if it was cancelled already)."""
        if self.status == CANCELLED:
            return False
        self._clear_window()
        self.status, self.reason, self.detail = CANCELLED, None, detail
        return True

    def reopen(self) -> bool:
        """New capacity appeared: an unplaced step is tried again."""
        if self.status != UNPLACED:
            return False
        self.status = PENDING
        return True

    def _clear_window(self) -> None:
        self.window_id = self.price = self.transport_km = None


@dataclass(frozen=True)
class FactoryRecord:
    id: str
    firm_id: str
    cluster_id: str
    name: str
    lat: float
    lon: float
    declared_tier: str
    verified_tier: str | None
    sme: bool
    certifications: tuple[str, ...] = ()

    @property
    def usable_tier(self) -> str:
        """The matcher uses the verified tier; a factory with none counts as basic."""
        return self.verified_tier or "basic"

    def serves_more_than(self, before: FactoryRecord) -> bool:
        """A higher usable tier, a certification it lacked, or another place: a step it could
        not take may pass now."""
        return (tier_rank(self.usable_tier) > tier_rank(before.usable_tier)
                or not set(self.certifications) <= set(before.certifications)
                or (self.lat, self.lon) != (before.lat, before.lon))


@dataclass(frozen=True)
class MachineRecord:
    id: str
    factory_id: str
    cluster_id: str
    name: str
    process: str
    materials: tuple[str, ...]
    hourly_rate: float

    def serves_more_than(self, before: MachineRecord) -> bool:
        """A material it lacked, or a lower rate (a step's budget may allow it now)."""
        return (not set(self.materials) <= set(before.materials)
                or self.hourly_rate < before.hourly_rate - EPS)


@dataclass(frozen=True)
class WindowRecord:
    id: str
    machine_id: str
    factory_id: str
    cluster_id: str
    start: datetime
    end: datetime
    hours: float  # offered
    used_hours: float = 0.0  # of steps proposed, held or accepted on it

    @property
    def free_hours(self) -> float:
        return max(0.0, self.hours - self.used_hours)

    def offers_more_than(self, before: WindowRecord) -> bool:
        """More hours (so more free hours) or a later end than ``before``: a step that found
        no room may fit now."""
        return self.hours > before.hours + EPS or self.end > before.end


@dataclass(frozen=True)
class OrderRecord:
    id: str
    buyer_firm_id: str
    cluster_id: str
    title: str
    delivery_lat: float
    delivery_lon: float
    due: datetime
    min_tier: str = "basic"
    certifications: tuple[str, ...] = ()
    max_distance_km: float = 60.0
    priority: int = 1
    budget: float | None = None
    allowed_factories: tuple[str, ...] = ()
    blocked_factories: tuple[str, ...] = ()
    max_factories: int | None = None
    submitted_at: datetime | None = None  # when the orders API accepted it


@dataclass
class ClusterSnapshot:
    """What the read model holds for planning one cluster."""

    cluster_id: str
    factories: list[FactoryRecord]
    machines: list[MachineRecord]
    windows: list[WindowRecord]
    orders: list[OrderRecord]
    steps: list[StepState]  # every step of ``orders``


@dataclass(frozen=True)
class QueuedOrder:
    """An order with a pending step: what choosing a run's batch needs to know of it."""

    order_id: str
    priority: int
    due: datetime
    open_steps: int  # pending or unplaced: what planning it adds to the batch
    submitted_at: datetime | None = None  # when the orders API accepted it (pacing's clock)


def select_batch(queue: Iterable[QueuedOrder], max_steps: int) -> list[str]:
    """The ids of the orders of one run: by priority, then due date, while their open steps
    fit the batch (the first order always fits, so a big order cannot block the queue)."""
    chosen: list[str] = []
    total = 0
    for q in sorted(queue, key=lambda q: (-q.priority, q.due, q.order_id)):
        if chosen and total + q.open_steps > max_steps:
            continue
        chosen.append(q.order_id)
        total += q.open_steps
    return chosen


def build_instance(
    snapshot: ClusterSnapshot, *, params: Parameters, now: datetime | None = None, name: str = ""
) -> Instance:
    """The planning input; cancelled steps are left out (they are neither free nor pinned)."""
    steps_by_order: dict[str, list[StepState]] = {}
    for s in sorted(snapshot.steps, key=lambda s: (s.order_id, s.position, s.id)):
        if s.status != CANCELLED:
            steps_by_order.setdefault(s.order_id, []).append(s)
    return Instance(
        name=name, now=now, params=params,
        factories=tuple(Factory(id=f.id, firm_id=f.firm_id, lat=f.lat, lon=f.lon,
                                tier=f.usable_tier, sme=f.sme,
                                certifications=frozenset(f.certifications))
                        for f in snapshot.factories),
        machines=tuple(Machine(id=m.id, factory_id=m.factory_id, process=m.process,
                               materials=frozenset(m.materials), hourly_rate=m.hourly_rate)
                       for m in snapshot.machines),
        windows=tuple(Window(id=w.id, machine_id=w.machine_id, start=w.start, end=w.end,
                             hours=w.free_hours, offered_hours=w.hours)
                      for w in snapshot.windows),
        orders=tuple(_order(o, steps_by_order.get(o.id, [])) for o in snapshot.orders),
    )


def _order(o: OrderRecord, steps: list[StepState]) -> Order:
    return Order(
        id=o.id, buyer_id=o.buyer_firm_id, lat=o.delivery_lat, lon=o.delivery_lon, due=o.due,
        min_tier=o.min_tier, certifications=frozenset(o.certifications),
        max_distance_km=o.max_distance_km, priority=o.priority, budget=o.budget,
        allowed_factories=frozenset(o.allowed_factories),
        blocked_factories=frozenset(o.blocked_factories), max_factories=o.max_factories,
        steps=tuple(
            Step(id=s.id, process=s.process, material=s.material, hours=s.hours,
                 after=tuple(s.after), excluded_windows=frozenset(s.excluded_windows),
                 pinned_window=s.window_id if s.status in PLACED else None)
            for s in steps
        ),
    )
