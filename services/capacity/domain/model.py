"""Who acts, and the slow-changing objects: clusters, factories and machines."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.capacity.domain.errors import Forbidden, InvalidInput
from shared.vocabulary import PROCESSES, TIERS

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

    def __post_init__(self) -> None:
        _check_tier("declared_tier", self.declared_tier)

    def is_owned_by(self, actor: Actor) -> bool:
        return actor.role == SUPPLIER and actor.firm_id == self.firm_id

    def is_visible_to(self, actor: Actor) -> bool:
        return actor.is_operator or self.is_owned_by(actor)

    def verify_tier(self, tier: str) -> None:
        _check_tier("tier", tier)
        self.verified_tier = tier


@dataclass
class Machine:
    id: str
    factory_id: str
    name: str
    process: str
    materials: list[str] = field(default_factory=list)
    hourly_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.process not in PROCESSES:
            raise InvalidInput("process", f"unknown process {self.process!r}")
        if not self.hourly_rate > 0:
            raise InvalidInput("hourly_rate", "must be greater than 0")


def _check_tier(field_name: str, tier: str) -> None:
    if tier not in TIERS:
        raise InvalidInput(field_name, f"must be one of {', '.join(TIERS)}")
