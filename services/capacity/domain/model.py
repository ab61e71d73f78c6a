"""Who acts, and the slow-changing objects: clusters, factories and machines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.capacity.domain.errors import Forbidden, InvalidInput
from shared.vocabulary import PROCESSES, TIERS, tier_rank

OPERATOR = "operator"
SUPPLIER = "supplier"


@dataclass(frozen=True)
class Actor:
    """The caller of a command: firm id, role and the clusters its token names."""

    firm_id: str
    role: str
    clusters: tuple[str, ...] = ()

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR

    def may_use_cluster(self, cluster_id: str) -> bool:
        return self.is_operator or cluster_id in self.clusters

    def require(self, role: str) -> None:
        if self.role != role:
            raise Forbidden(f"this needs the role {role}")


@dataclass
class Cluster:
    id: str
    name: str
    lat: float
    lon: float
    max_distance_km: float = 60.0


@dataclass
class Factory:
    id: str
    firm_id: str
    cluster_id: str
    name: str
    lat: float
    lon: float
    declared_tier: str
    sme: bool = False
    certifications: list[str] = field(default_factory=list)
    verified_tier: str | None = None
    # the declared tier awaits the operator: never verified, or declared higher since
    tier_verification_pending: bool = True
    retired_at: datetime | None = None  # a retired factory is gone but for its reservations

    def __post_init__(self) -> None:
        _check_tier("declared_tier", self.declared_tier)

    def is_owned_by(self, actor: Actor) -> bool:
        return actor.role == SUPPLIER and actor.firm_id == self.firm_id

    def is_visible_to(self, actor: Actor) -> bool:
        return actor.is_operator or self.is_owned_by(actor)

    def verify_tier(self, tier: str) -> None:
        _check_tier("tier", tier)
        self.verified_tier = tier
        self.tier_verification_pending = False

    def amend(self, changes: FactoryChanges) -> list[str]:
        """Apply the supplier's changes (None leaves a value as it is); the names of the
        fields that changed. A tier declared above the verified one awaits the operator, and
        matching keeps using the verified tier meanwhile; one declared at or below it needs
        no check: the verified tier never stands above the firm's own claim."""
        if changes.declared_tier is not None:
            _check_tier("declared_tier", changes.declared_tier)
        changed = _apply(self, changes)
        if "declared_tier" in changed:
            if self.verified_tier is None or (
                    tier_rank(self.declared_tier) > tier_rank(self.verified_tier)):
                self.tier_verification_pending = True
            else:
                if tier_rank(self.declared_tier) < tier_rank(self.verified_tier):
                    self.verified_tier = self.declared_tier
                    changed.append("verified_tier")
                self.tier_verification_pending = False
        return changed


@dataclass(frozen=True)
class FactoryChanges:
    """What a supplier may change about its factory; None leaves a value as it is. The
    cluster, the owner and the verified tier are not the supplier's to change."""

    name: str | None = None
    lat: float | None = None
    lon: float | None = None
    sme: bool | None = None
    certifications: list[str] | None = None
    declared_tier: str | None = None


@dataclass(frozen=True)
class MachineChanges:
    """What a supplier may change about its machine; None leaves a value as it is. The process
    is what the machine is: another process is another machine."""

    name: str | None = None
    materials: list[str] | None = None
    hourly_rate: float | None = None


@dataclass
class Machine:
    id: str
    factory_id: str
    name: str
    process: str
    materials: list[str] = field(default_factory=list)
    hourly_rate: float = 0.0
    retired_at: datetime | None = None  # retired machines are gone for every read and write

    def __post_init__(self) -> None:
        if self.process not in PROCESSES:
            raise InvalidInput("process", f"unknown process {self.process!r}")
        _check_rate(self.hourly_rate)

    def amend(self, changes: MachineChanges) -> list[str]:
        """Apply the supplier's changes; the names of the fields that changed. Hours held or
        accepted keep the price they were proposed at."""
        if changes.hourly_rate is not None:
            _check_rate(changes.hourly_rate)
        return _apply(self, changes)


def _apply(target: object, changes: object) -> list[str]:
    """Copy the changes that are given and differ onto ``target``; their names."""
    changed = [name for name, value in vars(changes).items()
               if value is not None and value != getattr(target, name)]
    for name in changed:
        setattr(target, name, getattr(changes, name))
    return changed


def _check_rate(rate: float) -> None:
    if not rate > 0:
        raise InvalidInput("hourly_rate", "must be greater than 0")


def _check_tier(field_name: str, tier: str) -> None:
    if tier not in TIERS:
        raise InvalidInput(field_name, f"must be one of {', '.join(TIERS)}")
