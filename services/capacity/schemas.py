"""Request and response models of the capacity API (pydantic only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NoReturn, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from shared.vocabulary import PROCESSES

Tier = Literal["basic", "advanced", "excellent", "leading"]
ReservationStatus = Literal["held", "accepted", "declined", "expired", "released", "rejected"]
Production = Literal["not_started", "started", "completed"]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(min_length=1, max_length=100)]


def _examples(*examples: dict, **config: object) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)}, **config)  # type: ignore[typeddict-item]


def _public(*examples: dict) -> ConfigDict:
    return _examples(*examples, from_attributes=True)


def _page(item: dict) -> ConfigDict:
    return _examples({"items": [item], "next_cursor": None})


def known_process(value: str) -> str:
    if value not in PROCESSES:
        raise ValueError(f"unknown process; use one of {', '.join(sorted(PROCESSES))}")
    return value


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # refuses firm_id, verified_tier, ids, …


def _fixed(why: str) -> Any:
    """A field a PATCH may not change: named in the body, it is a 422 saying why (rather than
    pydantic's "extra inputs are not permitted"); it is not in the documented schema."""

    def refuse(_: object) -> NoReturn:
        raise ValueError(why)

    return Annotated[SkipJsonSchema[object], BeforeValidator(refuse), Field(exclude=True)]


class _Update(_Request):
    """A PATCH body: omitted (or null) values stay as they are, and one must be given."""

    @model_validator(mode="after")
    def _something(self) -> Self:
        fields = [name for name, f in type(self).model_fields.items() if not f.exclude]
        if all(getattr(self, name) is None for name in fields):
            raise ValueError(f"give at least one of {', '.join(fields)}")
        return self


CLUSTER = {"id": "qhd-auto", "name": "Qinhuangdao auto parts", "lat": 39.93, "lon": 119.6,
           "max_distance_km": 60.0}
FACTORY = {"id": "fac_0193a1b2c3d4e5f6a7b8c9d0", "firm_id": "firm-s1", "cluster_id": "qhd-auto",
           "name": "Haigang Precision", "lat": 39.95, "lon": 119.58, "declared_tier": "advanced",
           "verified_tier": "advanced", "tier_verification_pending": False, "sme": True,
           "certifications": ["ISO9001"]}
MACHINE = {"id": "mac_0193a1b2c3d5a1b2c3d4e5f6", "factory_id": FACTORY["id"],
           "name": "5-axis mill", "process": "cnc_milling", "materials": ["steel", "aluminium"],
           "hourly_rate": 180.0}
WINDOW = {"id": "win_0193a1b2c3d6f6e5d4c3b2a1", "machine_id": MACHINE["id"],
          "start": "2030-01-07T08:00:00Z", "end": "2030-01-09T08:00:00Z", "hours": 20.0,
          "held_hours": 6.0, "accepted_hours": 0.0, "free_hours": 14.0, "version": 1}


class ClusterCreate(_Request):
    model_config = _examples({"id": "qhd-auto", "name": "Qinhuangdao auto parts", "lat": 39.93,
                              "lon": 119.60, "max_distance_km": 60})
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="slug chosen by the operator")
    name: Name
    lat: Lat
    lon: Lon
    max_distance_km: float = Field(60.0, gt=0, le=500)


class ClusterPublic(BaseModel):
    model_config = _public(CLUSTER)
    id: str
    name: str
    lat: float
    lon: float
    max_distance_km: float


class ClustersPublic(BaseModel):
    model_config = _page(CLUSTER)
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


class FactoryPublic(BaseModel):
    model_config = _public(FACTORY)
    id: str
    firm_id: str
    cluster_id: str
    name: str
    lat: float
    lon: float
    declared_tier: Tier
    verified_tier: Tier | None
    tier_verification_pending: bool = Field(
        description="the declared tier awaits the operator (never verified, or declared higher "
        "since); matching uses the verified tier, basic when there is none")
    sme: bool
    certifications: list[str]


class FactoriesPublic(BaseModel):
    model_config = _page(FACTORY)
    items: list[FactoryPublic]
    next_cursor: str | None = None


class FactoryUpdate(_Update):
    """What to change; omitted (or null) values stay as they are. The cluster is not
    changeable: a factory elsewhere is another factory."""

    model_config = _examples({"certifications": ["ISO9001", "IATF16949"]},
                             {"declared_tier": "excellent"})
    name: Name | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    sme: bool | None = None
    certifications: list[Label] | None = Field(
        None, max_length=50, description="the whole list, replacing the current one")
    declared_tier: Tier | None = Field(
        None, description="higher than the verified tier: awaits the operator, who verifies "
        "it again; lower: the verified tier follows it down")
    cluster_id: _fixed("a factory stays in its cluster: register one in the other cluster") \
        = None
    verified_tier: _fixed("only the operator verifies tiers; declare a tier instead") = None


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
        return known_process(value)


class MachineUpdate(_Update):
    """What to change; omitted (or null) values stay as they are. The process is not
    changeable: a machine for another process is another machine. Hours already held or
    accepted keep the price they were proposed at."""

    model_config = _examples({"hourly_rate": 165.0}, {"materials": ["steel", "titanium"]})
    name: Name | None = None
    materials: list[Label] | None = Field(
        None, max_length=50, description="the whole list, replacing the current one")
    hourly_rate: float | None = Field(None, gt=0, description="CNY per machine hour")
    process: _fixed("a machine's process does not change: add a machine for the other "
                    "process") = None
    factory_id: _fixed("a machine stays in its factory: add one to the other factory") = None


class MachinePublic(BaseModel):
    model_config = _public(MACHINE)
    id: str
    factory_id: str
    name: str
    process: str
    materials: list[str]
    hourly_rate: float


class MachinesPublic(BaseModel):
    model_config = _page(MACHINE)
    items: list[MachinePublic]
    next_cursor: str | None = None


class WindowCreate(_Request):
    model_config = _examples({"start": "2030-01-07T08:00:00Z", "end": "2030-01-09T08:00:00Z",
                              "hours": 20.0})
    start: AwareDatetime
    end: AwareDatetime = Field(description="after start, and in the future")
    hours: float = Field(gt=0, description="machine hours offered, at most end − start")


class WindowUpdate(_Update):
    """What to change; omitted (or null) values stay as they are."""

    model_config = _examples({"end": "2030-01-10T08:00:00Z", "hours": 28.0}, {"hours": 12.0})
    start: AwareDatetime | None = None
    end: AwareDatetime | None = Field(None, description="a new end must be in the future")
    hours: float | None = Field(None, gt=0, description="at least the hours held + accepted")


class WindowPublic(BaseModel):
    model_config = _public(WINDOW)
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
    model_config = _page(WINDOW)
    items: list[WindowPublic]
    next_cursor: str | None = None


class WindowsImported(BaseModel):
    model_config = _examples({"imported": 2, "window_ids": [WINDOW["id"],
                                                           "win_0193a1b2c3d7a9b8c7d6e5f4"]})
    imported: int = Field(description="how many windows were opened (all rows of the file)")
    window_ids: list[str] = Field(description="their ids, in the order of the rows")


class AvailabilityBucket(BaseModel):
    model_config = _public({"process": "cnc_milling", "tier": "advanced",
                            "iso_week": "2026-W49", "free_hours": 126.5, "factories": 4})
    process: str
    tier: Tier = Field(description="verified tier; basic when none is verified")
    iso_week: str = Field(pattern=r"^\d{4}-W\d{2}$")
    free_hours: float = Field(description="offered − held − accepted, split over ISO weeks")
    factories: int = Field(description="distinct factories behind this bucket (at least 3)")


class AvailabilityPublic(BaseModel):
    model_config = _public({"items": [{"process": "cnc_milling", "tier": "advanced",
                                       "iso_week": "2026-W49", "free_hours": 126.5,
                                       "factories": 4}],
                            "suppressed_buckets": 2})
    items: list[AvailabilityBucket]
    suppressed_buckets: int = Field(
        description="buckets left out because fewer than 3 factories stand behind them")


RESERVATION = {"id": "res_0193a1b2c3d4e5f6a7b8c9d0", "order_id": "ord_1", "step_id": "stp_1",
               "window_id": WINDOW["id"], "factory_id": FACTORY["id"], "hours": 6.0,
               "price": 1080.0, "status": "held", "expires_at": "2026-12-02T08:00:00Z",
               "created_at": "2026-12-01T08:00:00Z", "updated_at": None, "reason": None,
               "production": None, "started_at": None, "completed_at": None,
               "waiting_for": ["cut"], "steps_without_factory": [],
               "job": {"title": "Brackets", "process": "cnc_milling", "material": "steel",
                       "quantity": 500, "due": "2026-12-08T00:00:00Z", "step": "mill",
                       "after": [{"step_id": "stp_0", "key": "cut"}]}}


class PrecedingStepPublic(BaseModel):
    model_config = _public(RESERVATION["job"]["after"][0])
    step_id: str
    key: str = Field(description="the step's key in its order, e.g. cut")


class JobPublic(BaseModel):
    """What the held hours are for: enough to accept or decline; never who asks."""

    model_config = _public(RESERVATION["job"])
    title: str
    process: str
    material: str | None
    quantity: int
    due: datetime
    step: str | None = Field(
        None, description="the step's key in its order, e.g. mill; null for holds made before "
        "the matcher named steps")
    after: list[PrecedingStepPublic] = Field(
        default_factory=list, description="the order's steps whose work must be reported "
        "completed before this one's may start (…/start and …/complete answer 409 until then); "
        "they may be at other factories, which stay unnamed")


class ReservationPublic(BaseModel):
    model_config = _public(RESERVATION)
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
    updated_at: datetime | None = Field(
        None, description="when it last changed status (accepted, declined, expired, released); "
        "null while it is held as made")
    reason: str | None = Field(
        None, description="why it ended: the supplier's own decline reason, or order_cancelled "
        "when the buyer cancelled or revised the order; null otherwise")
    production: Production | None = Field(
        None, description="the work on accepted hours, as the supplier reports it "
        "(POST …/start, …/complete); null for hours never accepted")
    started_at: datetime | None = None
    completed_at: datetime | None = None
    waiting_for: list[str] = Field(
        default_factory=list, description="the keys of the order's steps (job.after) whose "
        "work is not reported completed yet: this step's work may start once it is empty; "
        "empty too once the work started or the hours ended")
    steps_without_factory: list[str] = Field(
        default_factory=list, description="the keys of the order's other steps whose "
        "supplier declined them (or whose hours were otherwise given up) and that no factory "
        "holds now: until the matcher places them, or the buyer revises the order, it cannot "
        "be completed. Said while these hours are held or accepted and their work not "
        "completed; the other factories stay unnamed")
    job: JobPublic | None = Field(
        None, description="the step the hours are for; null for holds made before the matcher "
        "described jobs")


class ReservationsPublic(BaseModel):
    model_config = _page(RESERVATION)
    items: list[ReservationPublic]
    next_cursor: str | None = None


class DeclineRequest(_Request):
    model_config = _examples({"reason": "machine under maintenance that week"})
    reason: str = Field(min_length=1, max_length=500)
