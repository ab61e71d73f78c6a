"""What the matcher plans with (DESIGN §4): plain, immutable dataclasses, standard library only.

A planning input is an ``Instance``: the factories, machines and capacity windows of one cluster
and the orders to place. Window ``hours`` are *free* hours (offered minus the hours of steps
already proposed, held or accepted on it). A step with ``pinned_window`` is already placed
(held/accepted, or proposed and awaiting capacity's answer): it never moves, its hours are
already deducted, and the steps placed around it must respect precedence with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

EPS = 1e-9  # tolerance for comparing hours and money


@dataclass(frozen=True)
class Factory:
    id: str
    lat: float
    lon: float
    tier: str = "basic"  # the tier the matcher may use (verified)
    sme: bool = False
    certifications: frozenset[str] = frozenset()
    firm_id: str = ""


@dataclass(frozen=True)
class Machine:
    id: str
    factory_id: str
    process: str
    hourly_rate: float
    materials: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Window:
    id: str
    machine_id: str
    start: datetime
    end: datetime
    hours: float  # free hours
    offered_hours: float | None = None  # as offered by the supplier; None = same as ``hours``

    @property
    def offered(self) -> float:
        return self.hours if self.offered_hours is None else self.offered_hours


@dataclass(frozen=True)
class Step:
    id: str
    process: str
    hours: float
    material: str | None = None
    after: tuple[str, ...] = ()
    pinned_window: str | None = None
    excluded_windows: frozenset[str] = frozenset()  # rejected or declined for this step


@dataclass(frozen=True)
class Order:
    id: str
    lat: float
    lon: float
    due: datetime
    steps: tuple[Step, ...]
    buyer_id: str = ""
    min_tier: str = "basic"
    certifications: frozenset[str] = frozenset()
    max_distance_km: float = 60.0
    priority: int = 1
    budget: float | None = None
    allowed_factories: frozenset[str] = frozenset()
    blocked_factories: frozenset[str] = frozenset()
    max_factories: int | None = None

    @property
    def free_steps(self) -> tuple[Step, ...]:
        """The steps this plan must place (all but the pinned ones)."""
        return tuple(s for s in self.steps if s.pinned_window is None)


@dataclass(frozen=True)
class Parameters:
    speed_kmh: float = 50.0
    transport_cost_per_km: float = 2.0
    sme_bonus_per_hour: float = 0.0
    unplaced_penalty: float = 100000.0


@dataclass(frozen=True)
class Candidate:
    """A window with the machine and factory it belongs to."""

    window: Window
    machine: Machine
    factory: Factory


@dataclass(frozen=True)
class Instance:
    factories: tuple[Factory, ...]
    machines: tuple[Machine, ...]
    windows: tuple[Window, ...]
    orders: tuple[Order, ...]
    params: Parameters = field(default_factory=Parameters)
    now: datetime | None = None  # windows ending at or before ``now`` are not usable
    name: str = ""

    @cached_property
    def candidates(self) -> dict[str, Candidate]:
        """Window id → candidate, for every window whose machine and factory are known."""
        machines = {m.id: m for m in self.machines}
        factories = {f.id: f for f in self.factories}
        out: dict[str, Candidate] = {}
        for w in self.windows:
            m = machines.get(w.machine_id)
            f = factories.get(m.factory_id) if m else None
            if m is not None and f is not None:
                out[w.id] = Candidate(window=w, machine=m, factory=f)
        return out

    @cached_property
    def orders_by_id(self) -> dict[str, Order]:
        return {o.id: o for o in self.orders}


@dataclass(frozen=True)
class Allocation:
    step_id: str
    order_id: str
    window_id: str
    machine_id: str
    factory_id: str
    hours: float
    price: float  # hours × hourly rate + transport cost
    transport_km: float


@dataclass(frozen=True)
class Unplaced:
    step_id: str
    order_id: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Plan:
    status: str  # optimal | feasible | infeasible | unknown
    objective: float
    allocations: tuple[Allocation, ...] = ()
    unplaced: tuple[Unplaced, ...] = ()

    def allocations_by_order(self) -> dict[str, list[Allocation]]:
        out: dict[str, list[Allocation]] = {}
        for a in self.allocations:
            out.setdefault(a.order_id, []).append(a)
        return out
