"""Commands: what callers ask the service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.capacity.domain.model import Actor, FactoryChanges, MachineChanges


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CreateCluster:
    actor: Actor
    cluster_id: str
    name: str
    lat: float
    lon: float
    max_distance_km: float = 60.0


@dataclass(frozen=True)
class RegisterFactory:
    actor: Actor
    cluster_id: str
    name: str
    lat: float
    lon: float
    declared_tier: str
    sme: bool = False
    certifications: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyTier:
    actor: Actor
    factory_id: str
    tier: str


@dataclass(frozen=True)
class UpdateFactory:
    actor: Actor
    factory_id: str
    changes: FactoryChanges
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class RetireFactory:
    actor: Actor
    factory_id: str
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class AddMachine:
    actor: Actor
    factory_id: str
    name: str
    process: str
    hourly_rate: float
    materials: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateMachine:
    actor: Actor
    machine_id: str
    changes: MachineChanges
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class RetireMachine:
    actor: Actor
    machine_id: str
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class OpenWindow:
    actor: Actor
    machine_id: str
    start: datetime
    end: datetime
    hours: float
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class UpdateWindow:
    """Move or resize a window; None leaves a value as it is."""

    actor: Actor
    window_id: str
    start: datetime | None = None
    end: datetime | None = None
    hours: float | None = None
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class CloseWindow:
    actor: Actor
    window_id: str
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class ImportWindows:
    """Open every window a CSV file lists (header machine_id,start,end,hours), or none."""

    actor: Actor
    csv_text: str
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class AcceptReservation:
    actor: Actor
    reservation_id: str
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class ReportWork:
    """The supplier began, or finished, the work of an accepted reservation."""

    actor: Actor
    reservation_id: str
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class DeclineReservation:
    actor: Actor
    reservation_id: str
    reason: str
    at: datetime = field(default_factory=utc_now)
