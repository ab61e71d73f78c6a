"""Request and response models of ``POST /v1/orders:batch``: items are judged one by one."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, SkipValidation, ValidationError

from services.orders.domain.errors import FieldError
from services.orders.domain.rules import OrderTerms
from services.orders.schemas import ORDER_EXAMPLE, OrderCreate, examples
from services.orders.service_layer.batch import BatchResult
from shared.problems import TYPE_BASE

MAX_BATCH = 1000


class OrdersBatchCreate(BaseModel):
    model_config = examples(
        {"orders": [ORDER_EXAMPLE, {**ORDER_EXAMPLE, "title": "Covers", "max_distance_km": 900}]},
        extra="forbid")

    # Items are validated one at a time by draft_of (a bad one must not refuse the others), so
    # the request model only checks that this is a list of 1 to 1,000 of them.
    orders: list[SkipValidation[OrderCreate]] = Field(
        min_length=1, max_length=MAX_BATCH, description="1 to 1,000 orders (OrderCreate each)")


def draft_of(raw: Any) -> OrderTerms | tuple[FieldError, ...]:
    """One request item as order terms, or the errors that say why it is no order."""
    try:
        return OrderCreate.model_validate(raw).to_terms()
    except ValidationError as exc:
        return tuple(
            FieldError(".".join(str(p) for p in e["loc"]), e["msg"], e["type"])
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        )


FIELD_ERROR_EXAMPLE = {"field": "orders.1.max_distance_km", "type": "less_than_equal",
                       "message": "Input should be less than or equal to 500"}
PROBLEM_EXAMPLE = {"type": TYPE_BASE + "validation-failed", "title": "Validation failed",
                   "status": 422, "detail": "invalid fields: orders.1.max_distance_km",
                   "errors": [FIELD_ERROR_EXAMPLE]}


class FieldErrorPublic(BaseModel):
    model_config = examples(FIELD_ERROR_EXAMPLE)

    field: str = Field(description="dotted path into the request, e.g. orders.3.steps.0.hours")
    message: str
    type: str


class ProblemPublic(BaseModel):
    """An RFC 9457 problem document, as the API answers for a whole request."""

    model_config = examples(PROBLEM_EXAMPLE)

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldErrorPublic]


class BatchAccepted(BaseModel):
    model_config = examples({"index": 0, "id": "ord_5f0c", "status": "submitted"})

    index: int = Field(description="position of the item in the request")
    id: str = Field(description="the new order's id")
    status: Literal["submitted"] = "submitted"


class BatchRejected(BaseModel):
    model_config = examples({"index": 1, "problem": PROBLEM_EXAMPLE})

    index: int = Field(description="position of the item in the request")
    problem: ProblemPublic


class OrdersBatchPublic(BaseModel):
    model_config = examples({
        "items": [
            {"index": 0, "id": "ord_5f0c", "status": "submitted"},
            {"index": 1, "problem": PROBLEM_EXAMPLE},
        ],
        "accepted": 1, "rejected": 1,
    })

    items: list[BatchAccepted | BatchRejected]
    accepted: int
    rejected: int

    @classmethod
    def of(cls, result: BatchResult) -> OrdersBatchPublic:
        items: list[BatchAccepted | BatchRejected] = []
        for item in result.items:
            if item.order_id is not None:
                items.append(BatchAccepted(index=item.index, id=item.order_id))
            else:
                items.append(BatchRejected(index=item.index, problem=_problem(item.index,
                                                                              item.errors)))
        return cls(items=items, accepted=result.accepted, rejected=result.rejected)


def _problem(index: int, errors: tuple[FieldError, ...]) -> ProblemPublic:
    fields = [FieldErrorPublic(field=".".join(p for p in ("orders", str(index), e.field) if p),
                               message=e.message, type=e.type) for e in errors]
    return ProblemPublic(type=TYPE_BASE + "validation-failed", title="Validation failed",
                         status=422, detail="invalid fields: " + ", ".join(f.field for f in fields),
                         errors=fields)
