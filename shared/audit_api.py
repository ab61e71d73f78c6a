"""``GET /v1/audit``: the operator reads a service's audit log, newest first, a page at a time."""

# No "from __future__ import annotations": the route's annotations name a local dependency.

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from shared.audit import AuditEntry, AuditFilter
from shared.auth import Operator
from shared.problems import Problem

EXAMPLE = {"id": 42, "at": "2026-12-01T09:30:00Z", "actor": "firm-s1", "role": "supplier",
           "action": "reservation.accepted", "object_type": "reservation",
           "object_id": "res_0193a1b2c3d4", "correlation_id": "9f1c2e7a4b6d",
           "detail": {"order_id": "ord_0193a1b2c3d4", "hours": 6.0}}


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    correlation_id: str | None
    detail: dict[str, Any]


class AuditPagePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [EXAMPLE], "next_cursor": "42"}]})

    items: list[AuditEntryPublic]
    next_cursor: str | None


MAX_ENTRY_ID = 2**63 - 1  # entry ids are 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT)


def audit_router(get_uow: Callable[..., Any], *, actions: list[str]) -> APIRouter:
    """The route, over a unit of work (from ``get_uow``) that has an ``audit`` repository."""
    router = APIRouter(prefix="/v1", tags=["audit"],
                       generate_unique_id_function=lambda route: route.name)
    uow_dep = Annotated[Any, Depends(get_uow)]

    @router.get("/audit", summary="Who did what, when (operator)",
                responses={422: {"description": "bad filter or cursor"}})
    def list_audit(
        _: Operator, uow: uow_dep,
        actor: Annotated[str | None, Query(max_length=200, description="firm id (sub)")] = None,
        action: Annotated[str | None, Query(description=", ".join(actions))] = None,
        object_id: Annotated[str | None, Query(max_length=100)] = None,
        since: Annotated[datetime | None, Query(description="at or after (UTC if no zone)")]
        = None,
        until: Annotated[datetime | None, Query(description="before (UTC if no zone)")] = None,
        cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> AuditPagePublic:
        if action is not None and action not in actions:
            raise Problem(422, "Validation failed", f"unknown action {action!r}",
                          errors=[{"field": "query.action",
                                   "message": "one of " + ", ".join(actions)}])
        if cursor is not None and int(cursor) > MAX_ENTRY_ID:
            raise Problem(422, "Validation failed", "the cursor is not one this API gave",
                          errors=[{"field": "query.cursor", "message": "unknown cursor"}])
        where = AuditFilter(actor=actor, action=action, object_id=object_id,
                            since=_utc(since), until=_utc(until))
        with uow:
            entries = uow.audit.page(where, before_id=int(cursor) if cursor else None,
                                     limit=limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        return AuditPagePublic(items=[_public(e) for e in entries],
                               next_cursor=str(entries[-1].id) if more else None)

    return router


def _public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic.model_validate(entry, from_attributes=True)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
