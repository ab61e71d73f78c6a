"""Request and response models of the capacity API (pydantic only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.vocabulary import PROCESSES

Tier = Literal["basic", "advanced", "excellent", "leading"]
ReservationStatus = Literal["held", "accepted", "declined", "expired", "released", "rejected"]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(min_length=1, max_length=100)]


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # refuses firm_id, verified_tier, ids, …


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ClusterCreate(_Request):
    model_config = _examples({"id": "qhd-auto", "name": "Qinhuangdao auto parts", "lat": 39.93,
                              "lon": 119.60, "max_distance_km": 60})
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="slug chosen by the operator")
    name: Name
    lat: Lat
    lon: Lon
    max_distance_km: float = Field(60.0, gt=0, le=500)


class ClusterPublic(_Public):
    id: str
    name: str
    lat: float
    lon: float
    max_distance_km: float


class ClustersPublic(BaseModel):
    items: list[ClusterPublic]
    next_cursor: str | None = None


class FactoryCreate(_Request):
    model_config = _examples({"cluster_id": "qhd-auto", "name": "Haigang Precision",
                              "lat": 39.95, "lon": 119.58, "declared_tier": "advanced",
                              "sme": True, "certifications": ["ISO9001"]})
    cluster_id: str = Field(min_length=1, max_length=63)
    name: Name
    lat: Lat
    lon: Lon
    declared_tier: Tier
    sme: bool = False
    certifications: list[Label] = Field(default_factory=list, max_length=50)


class FactoryPublic(_Public):
    id: str
    firm_id: str
    cluster_id: str
    name: str
    lat: float
    lon: float
    declared_tier: Tier
    verified_tier: Tier | None
    sme: bool
    certifications: list[str]


class FactoriesPublic(BaseModel):
    items: list[FactoryPublic]
    next_cursor: str | None = None


class TierVerification(_Request):
    model_config = _examples({"tier": "advanced"})
    tier: Tier


class MachineCreate(_Request):
    model_config = _examples({"name": "5-axis mill", "process": "cnc_milling",
                              "materials": ["steel", "aluminium"], "hourly_rate": 180.0})
    name: Name
    process: str
    materials: list[Label] = Field(default_factory=list, max_length=50)
    hourly_rate: float = Field(gt=0, description="CNY per machine hour")

    @field_validator("process")
    @classmethod
    def _known_process(cls, value: str) -> str:
        if value not in PROCESSES:
            raise ValueError(f"unknown process; use one of {', '.join(sorted(PROCESSES))}")
        return value


class MachinePublic(_Public):
    id: str
    factory_id: str
    name: str
    process: str
    materials: list[str]
    hourly_rate: float


class MachinesPublic(BaseModel):
    items: list[MachinePublic]
    next_cursor: str | None = None


class WindowCreate(_Request):
    model_config = _examples({"start": "2026-12-01T08:00:00Z", "end": "2026-12-03T08:00:00Z",
                              "hours": 20.0})
    start: AwareDatetime
    end: AwareDatetime
    hours: float = Field(gt=0, description="machine hours offered, at most end − start")


class WindowPublic(_Public):
    id: str
    machine_id: str
    start: datetime
    end: datetime
    hours: float
    held_hours: float
    accepted_hours: float
    free_hours: float
    version: int


class WindowsPublic(BaseModel):
    items: list[WindowPublic]
    next_cursor: str | None = None


class ReservationPublic(_Public):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": "res_0193a1b2c3d4e5f6a7b8c9d0", "order_id": "ord_1", "step_id": "stp_1",
        "window_id": "win_1", "factory_id": "fac_1", "hours": 6.0, "price": 1080.0,
        "status": "held", "expires_at": "2026-12-02T08:00:00Z",
        "created_at": "2026-12-01T08:00:00Z"}]})
    id: str
    order_id: str
    step_id: str
    window_id: str
    factory_id: str
    hours: float
    price: float
    status: ReservationStatus
    expires_at: datetime
    created_at: datetime


class ReservationsPublic(BaseModel):
    items: list[ReservationPublic]
    next_cursor: str | None = None


class DeclineRequest(_Request):
    model_config = _examples({"reason": "machine under maintenance that week"})
    reason: str = Field(min_length=1, max_length=500)
