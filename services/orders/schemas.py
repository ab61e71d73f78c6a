"""Request and response models of the orders API (DESIGN §5 field names)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.orders.domain.model import Order, Step
from services.orders.domain.rules import Location, OrderTerms, StepSpec
from services.orders.domain.status import OrderStatus, StepStatus
from services.orders.domain.timeline import TimelineEntry
from shared.vocabulary import PROCESSES

Tier = Literal["basic", "advanced", "excellent", "leading"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
StepKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=100)]


def _known_process(value: str) -> str:
    if value not in PROCESSES:
        raise ValueError(f"unknown process {value!r}; known: {', '.join(sorted(PROCESSES))}")
    return value


Process = Annotated[str, AfterValidator(_known_process),
                    Field(json_schema_extra={"enum": sorted(PROCESSES)})]


def examples(*values: Any, **config: Any) -> ConfigDict:
    """A model_config with OpenAPI examples."""
    return ConfigDict(json_schema_extra={"examples": list(values)}, **config)  # type: ignore[typeddict-item]


class Delivery(BaseModel):
    model_config = examples({"lat": 39.94, "lon": 119.55}, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


STEP_EXAMPLE = {"key": "coat", "process": "surface_coating", "material": None,
                "quantity": 500, "hours": 2.0, "after": ["mill"]}


class StepCreate(BaseModel):
    model_config = examples(STEP_EXAMPLE, extra="forbid")

    key: StepKey = Field(description="unique within the order; `after` refers to it")
    process: Process
    material: Text | None = None
    quantity: int = Field(ge=1)
    hours: float = Field(gt=0, description="machine hours")
    after: list[StepKey] = Field(default_factory=list, max_length=50,
                                 description="keys of the steps that must finish first")


ORDER_EXAMPLE = {
    "cluster_id": "qhd-auto", "title": "Brackets", "delivery": {"lat": 39.94, "lon": 119.55},
    "due": "2030-01-14T00:00:00Z", "min_tier": "basic", "certifications": [],
    "max_distance_km": 60, "priority": 3,
    "steps": [{"key": "mill", "process": "cnc_milling", "material": "steel",
               "quantity": 500, "hours": 6.0, "after": []}],
}


class OrderCreate(BaseModel):
    model_config = examples(ORDER_EXAMPLE, extra="forbid")

    cluster_id: Id
    title: Text
    delivery: Delivery
    due: AwareDatetime = Field(description="UTC ISO-8601 with a zone; must be in the future")
    min_tier: Tier = "basic"
    certifications: list[Id] = Field(default_factory=list, max_length=20)
    max_distance_km: float = Field(60.0, gt=0, le=500)
    priority: int = Field(3, ge=1, le=5)
    budget: float | None = Field(None, gt=0, description="CNY")
    allowed_factories: list[Id] = Field(default_factory=list, max_length=200)
    blocked_factories: list[Id] = Field(default_factory=list, max_length=200)
    max_factories: int | None = Field(None, ge=1)
    steps: list[StepCreate] = Field(min_length=1, max_length=50)

    def to_terms(self) -> OrderTerms:
        return OrderTerms(
            cluster_id=self.cluster_id, title=self.title,
            delivery=Location(self.delivery.lat, self.delivery.lon),
            due=self.due.astimezone(UTC), min_tier=self.min_tier,
            certifications=tuple(self.certifications), max_distance_km=self.max_distance_km,
            priority=self.priority, budget=self.budget,
            allowed_factories=tuple(self.allowed_factories),
            blocked_factories=tuple(self.blocked_factories), max_factories=self.max_factories,
            steps=tuple(StepSpec(key=s.key, process=s.process, material=s.material,
                                 quantity=s.quantity, hours=s.hours, after=tuple(s.after))
                        for s in self.steps),
        )


class OrderRevision(BaseModel):
    """The terms to change; the others, and the steps, stay as they are. `null` removes a
    budget or a factory limit; the other terms cannot be null."""

    model_config = examples({"max_distance_km": 90}, {"min_tier": "advanced",
                                                      "due": "2030-01-21T00:00:00Z"},
                            extra="forbid")

    title: Text = None  # type: ignore[assignment]
    delivery: Delivery = None  # type: ignore[assignment]
    due: AwareDatetime = Field(None, description="UTC ISO-8601 with a zone; in the future")  # type: ignore[assignment]
    min_tier: Tier = None  # type: ignore[assignment]
    certifications: list[Id] = Field(None, max_length=20)  # type: ignore[assignment]
    max_distance_km: float = Field(None, gt=0, le=500)  # type: ignore[assignment]
    priority: int = Field(None, ge=1, le=5)  # type: ignore[assignment]
    budget: float | None = Field(None, gt=0, description="CNY; null: no budget")
    allowed_factories: list[Id] = Field(None, max_length=200)  # type: ignore[assignment]
    blocked_factories: list[Id] = Field(None, max_length=200)  # type: ignore[assignment]
    max_factories: int | None = Field(None, ge=1, description="null: no limit")

    @model_validator(mode="after")
    def _something(self) -> OrderRevision:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(type(self).model_fields)}")
        return self

    def changes(self) -> dict[str, object]:
        """OrderTerms field → new value, for the terms named in the request."""
        out: dict[str, object] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if isinstance(value, Delivery):
                value = Location(value.lat, value.lon)
            elif isinstance(value, datetime):
                value = value.astimezone(UTC)
            elif isinstance(value, list):
                value = tuple(value)
            out[name] = value
        return out


class AllocationPublic(BaseModel):
    """Factory and window stay null until the supplier accepted; price and hours show at once."""

    model_config = examples(
        {"factory_id": None, "factory_name": None, "window_id": None, "hours": 6.0,
         "price": 1080.0},
        {"factory_id": "fac_3b2d", "factory_name": "Haigang Precision", "window_id": "win_77c1",
         "hours": 6.0, "price": 1080.0})

    factory_id: str | None
    factory_name: str | None
    window_id: str | None
    hours: float
    price: float


STEP_PUBLIC_EXAMPLE = {
    "id": "stp_9a1e", "key": "mill", "process": "cnc_milling", "material": "steel",
    "quantity": 500, "hours": 6.0, "after": [], "status": "held", "unplaced_reason": None,
    "allocation": {"factory_id": None, "factory_name": None, "window_id": None, "hours": 6.0,
                   "price": 1080.0},
    "started_at": None, "completed_at": None,
}


class StepPublic(BaseModel):
    model_config = examples(STEP_PUBLIC_EXAMPLE)

    id: str
    key: str
    process: str
    material: str | None
    quantity: int
    hours: float
    after: list[str]
    status: StepStatus
    allocation: AllocationPublic | None
    unplaced_reason: str | None
    started_at: datetime | None = Field(
        None, description="when the supplier reported the work started; null until then")
    completed_at: datetime | None = Field(
        None, description="when the supplier reported the work completed; null until then")

    @classmethod
    def of(cls, step: Step) -> StepPublic:
        shown = step.public_allocation()
        return cls(
            id=step.id, key=step.key, process=step.process, material=step.material,
            quantity=step.quantity, hours=step.hours, after=step.after, status=step.status,
            allocation=AllocationPublic(**vars(shown)) if shown else None,
            unplaced_reason=step.unplaced_reason, started_at=step.started_at,
            completed_at=step.completed_at,
        )


ORDER_PUBLIC_EXAMPLE = {
    "id": "ord_5f0c", "buyer_firm_id": "firm-b1", "cluster_id": "qhd-auto",
    "title": "Brackets", "delivery": {"lat": 39.94, "lon": 119.55},
    "due": "2026-12-08T00:00:00Z", "min_tier": "basic", "certifications": [],
    "max_distance_km": 60.0, "priority": 3, "budget": None, "allowed_factories": [],
    "blocked_factories": [], "max_factories": None, "status": "matching",
    "revision_of": None, "revised_as": None,
    "created_at": "2026-12-01T08:00:00Z", "updated_at": "2026-12-01T08:05:00Z",
    "steps": [STEP_PUBLIC_EXAMPLE],
}


class OrderPublic(BaseModel):
    model_config = examples(ORDER_PUBLIC_EXAMPLE)

    id: str
    buyer_firm_id: str
    cluster_id: str
    title: str
    delivery: Delivery
    due: datetime
    min_tier: Tier
    certifications: list[str]
    max_distance_km: float
    priority: int
    budget: float | None
    allowed_factories: list[str]
    blocked_factories: list[str]
    max_factories: int | None
    status: OrderStatus
    revision_of: str | None = Field(description="the order this one revised")
    revised_as: str | None = Field(
        description="the order that replaced this one (then cancelled) by a revision")
    created_at: datetime
    updated_at: datetime
    steps: list[StepPublic]

    @classmethod
    def of(cls, order: Order) -> OrderPublic:
        t = order.terms
        return cls(
            id=order.id, buyer_firm_id=order.buyer_firm_id, cluster_id=t.cluster_id,
            title=t.title, delivery=Delivery(lat=t.delivery.lat, lon=t.delivery.lon), due=t.due,
            min_tier=t.min_tier,  # type: ignore[arg-type]
            certifications=list(t.certifications), max_distance_km=t.max_distance_km,
            priority=t.priority, budget=t.budget, allowed_factories=list(t.allowed_factories),
            blocked_factories=list(t.blocked_factories), max_factories=t.max_factories,
            status=order.status, revision_of=order.revision_of, revised_as=order.revised_as,
            created_at=order.created_at, updated_at=order.updated_at,
            steps=[StepPublic.of(s) for s in order.steps],
        )


class OrdersPublic(BaseModel):
    model_config = examples({"items": [ORDER_PUBLIC_EXAMPLE], "next_cursor": None})

    items: list[OrderPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class OrderCancel(BaseModel):
    model_config = examples({"reason": "customer order withdrawn"}, extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=500)] | None = None


TIMELINE_EXAMPLES = [
    {"event_id": "0b7f6d1e-3c55-4a8e-9a43-2f1f3b0c9d11", "type": "order.submitted",
     "occurred_at": "2026-12-01T08:00:00Z", "step_id": None, "summary": {"steps": 1}},
    {"event_id": "5c1d2e0a-8f4b-4f7e-b1a2-7d9e6c3b2a10", "type": "reservation.held",
     "occurred_at": "2026-12-01T08:00:02Z", "step_id": "stp_9a1e",
     "summary": {"hours": 6.0, "price": 1080.0, "expires_at": "2026-12-02T08:00:02Z"}},
    {"event_id": "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4", "type": "reservation.accepted",
     "occurred_at": "2026-12-01T09:12:40Z", "step_id": "stp_9a1e",
     "summary": {"factory_id": "fac_3b2d", "factory_name": "Haigang Precision",
                 "window_id": "win_77c1", "hours": 6.0, "price": 1080.0}},
]


class TimelineEntryPublic(BaseModel):
    """One event that touched the order. Only reservation.accepted names the factory."""

    model_config = examples(*TIMELINE_EXAMPLES)

    event_id: str
    type: str = Field(description="event type, e.g. allocation.proposed or reservation.held")
    occurred_at: datetime
    step_id: str | None = Field(description="the step the event is about; null for the order")
    summary: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryPublic:
        return cls(event_id=entry.event_id, type=entry.type, occurred_at=entry.occurred_at,
                   step_id=entry.step_id, summary=dict(entry.summary))


class TimelinePublic(BaseModel):
    model_config = examples({"items": TIMELINE_EXAMPLES, "next_cursor": None})

    items: list[TimelineEntryPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")
