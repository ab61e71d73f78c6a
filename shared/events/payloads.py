"""Versioned payloads of every event that crosses a service boundary (DESIGN §2).

A new incompatible shape is a new class with VERSION + 1; consumers keep reading the old one
until no producer emits it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.events.envelope import EventPayload
from shared.events.topics import CAPACITY, MATCHING, ORDERS

Tier = Literal["basic", "advanced", "excellent", "leading"]


# --- capacity.v1 ------------------------------------------------------------------------------
class ClusterCreated(EventPayload):
    TYPE = "cluster.created"
    VERSION = 1
    TOPIC = CAPACITY

    cluster_id: str
    name: str
    lat: float
    lon: float
    max_distance_km: float


class FactoryState(EventPayload):
    """Full state of a factory, as matcher read models need it."""

    factory_id: str
    firm_id: str
    cluster_id: str
    name: str
    lat: float
    lon: float
    declared_tier: Tier
    verified_tier: Tier | None
    sme: bool
    certifications: list[str]


class FactoryRegistered(FactoryState):
    TYPE = "factory.registered"
    VERSION = 1
    TOPIC = CAPACITY


class FactoryUpdated(FactoryState):
    TYPE = "factory.updated"
    VERSION = 1
    TOPIC = CAPACITY


class MachineState(EventPayload):
    """Full state of a machine, as matcher read models need it."""

    machine_id: str
    factory_id: str
    cluster_id: str
    name: str
    process: str
    materials: list[str]
    hourly_rate: float


class MachineAdded(MachineState):
    TYPE = "machine.added"
    VERSION = 1
    TOPIC = CAPACITY


class MachineUpdated(MachineState):
    """The supplier changed the machine's name, materials or hourly rate (never its process)."""

    TYPE = "machine.updated"
    VERSION = 1
    TOPIC = CAPACITY


class WindowState(EventPayload):
    """Full state of an idle window (hours offered, not what is free)."""

    window_id: str
    machine_id: str
    factory_id: str
    cluster_id: str
    start: datetime
    end: datetime
    hours: float


class WindowOpened(WindowState):
    TYPE = "window.opened"
    VERSION = 1
    TOPIC = CAPACITY


class WindowUpdated(WindowState):
    """The supplier changed the window's times or hours (never below what is held/accepted)."""

    TYPE = "window.updated"
    VERSION = 1
    TOPIC = CAPACITY


class WindowClosed(EventPayload):
    """The supplier deleted a window that had no holds or acceptances."""

    TYPE = "window.closed"
    VERSION = 1
    TOPIC = CAPACITY

    window_id: str
    machine_id: str
    factory_id: str
    cluster_id: str


class ReservationRef(EventPayload):
    """What every reservation event names."""

    cluster_id: str
    order_id: str
    step_id: str
    window_id: str
    hours: float


class ReservationHeld(ReservationRef):
    TYPE = "reservation.held"
    VERSION = 1
    TOPIC = CAPACITY

    reservation_id: str
    factory_id: str
    price: float
    expires_at: datetime
    match_run_id: str | None = None


class ReservationRejected(ReservationRef):
    TYPE = "reservation.rejected"
    VERSION = 1
    TOPIC = CAPACITY

    reason: str
    match_run_id: str | None = None


class ReservationAccepted(ReservationRef):
    TYPE = "reservation.accepted"
    VERSION = 1
    TOPIC = CAPACITY

    reservation_id: str
    factory_id: str
    factory_name: str
    price: float


class ReservationDeclined(ReservationRef):
    TYPE = "reservation.declined"
    VERSION = 1
    TOPIC = CAPACITY

    reservation_id: str
    factory_id: str
    reason: str


class ReservationExpired(ReservationRef):
    """A hold the supplier did not answer in time; the matcher re-plans the step."""

    TYPE = "reservation.expired"
    VERSION = 1
    TOPIC = CAPACITY

    reservation_id: str
    factory_id: str


class ReservationReleased(ReservationRef):
    """A hold or acceptance given back because its order was cancelled."""

    TYPE = "reservation.released"
    VERSION = 1
    TOPIC = CAPACITY

    reservation_id: str
    factory_id: str
    reason: str


class ReservationStarted(ReservationRef):
    """The supplier began the work of accepted hours: the step is in production."""

    TYPE = "reservation.started"
    VERSION = 1
    TOPIC = CAPACITY

    reservation_id: str
    factory_id: str
    started_at: datetime


class ReservationCompleted(ReservationRef):
    """The supplier finished the work of accepted hours: the step is done."""

    TYPE = "reservation.completed"
    VERSION = 1
    TOPIC = CAPACITY

    reservation_id: str
    factory_id: str
    started_at: datetime
    completed_at: datetime


# --- orders.v1 --------------------------------------------------------------------------------
class SubmittedStep(EventPayload):
    step_id: str
    key: str
    process: str
    material: str | None
    quantity: int
    hours: float
    after: list[str] = Field(description="ids of the steps that must finish first")


class OrderSubmitted(EventPayload):
    TYPE = "order.submitted"
    VERSION = 1
    TOPIC = ORDERS

    order_id: str
    buyer_firm_id: str
    cluster_id: str
    title: str
    delivery_lat: float
    delivery_lon: float
    due: datetime
    min_tier: Tier
    certifications: list[str]
    max_distance_km: float
    priority: int
    budget: float | None
    allowed_factories: list[str]
    blocked_factories: list[str]
    max_factories: int | None
    steps: list[SubmittedStep]


class OrderCancelled(EventPayload):
    """The buyer cancelled before production started: every hold and acceptance is released."""

    TYPE = "order.cancelled"
    VERSION = 1
    TOPIC = ORDERS

    order_id: str
    cluster_id: str
    buyer_firm_id: str
    step_ids: list[str]
    reason: str | None = None


# --- matching.v1 ------------------------------------------------------------------------------
class ProposedAllocation(EventPayload):
    step_id: str
    window_id: str
    machine_id: str
    factory_id: str
    hours: float
    price: float
    transport_km: float


class AllocationProposed(EventPayload):
    """One order's plan: all its steps, held atomically by capacity or not at all."""

    TYPE = "allocation.proposed"
    VERSION = 1
    TOPIC = MATCHING

    match_run_id: str
    cluster_id: str
    order_id: str
    allocations: list[ProposedAllocation]


class ProposedJob(EventPayload):
    """What the supplier is asked to make: enough to accept or decline, never who asks."""

    title: str
    process: str
    material: str | None
    quantity: int
    due: datetime


class ProposedJobAllocation(ProposedAllocation):
    job: ProposedJob


class AllocationProposedV2(AllocationProposed):
    """Version 2: each allocation also says what the job is (``job``), so a supplier sees what
    it is asked to make. Consumers read version 1 as before (its reservations have no job)."""

    TYPE = "allocation.proposed"
    VERSION = 2
    TOPIC = MATCHING

    allocations: list[ProposedJobAllocation]  # type: ignore[assignment]


class PrecedingStep(EventPayload):
    """A step of the same order whose work must be completed before this one's may start."""

    step_id: str
    key: str


class ProposedStepJob(ProposedJob):
    step: str = Field(description="the step's key in its order, e.g. 'mill'")
    after: list[PrecedingStep] = Field(description="the steps to be completed first")


class ProposedStepJobAllocation(ProposedJobAllocation):
    job: ProposedStepJob


class AllocationProposedV3(AllocationProposedV2):
    """Version 3: each allocation's job also names its step and the steps of the order whose
    work must be completed before it starts (``job.step``, ``job.after``), so capacity can refuse
    work reported out of order. Consumers read versions 1 and 2 as before."""

    TYPE = "allocation.proposed"
    VERSION = 3
    TOPIC = MATCHING

    allocations: list[ProposedStepJobAllocation]  # type: ignore[assignment]


class StepUnplaced(EventPayload):
    TYPE = "step.unplaced"
    VERSION = 1
    TOPIC = MATCHING

    match_run_id: str
    cluster_id: str
    order_id: str
    step_id: str
    reason: str
    detail: str


class MatchRunCompleted(EventPayload):
    TYPE = "match_run.completed"
    VERSION = 1
    TOPIC = MATCHING

    match_run_id: str
    cluster_id: str
    trigger: str
    status: str
    placed_steps: int
    unplaced_steps: int
    objective: float | None
    wall_s: float
