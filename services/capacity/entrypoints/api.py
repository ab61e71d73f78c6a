"""HTTP API under /v1: schema → command → handler → response schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel

from services.capacity import schemas as s
from services.capacity.domain import commands as c
from services.capacity.domain import errors
from services.capacity.domain.model import Actor, FactoryChanges, MachineChanges
from services.capacity.domain.reservations import Status
from services.capacity.entrypoints.uploads import OPENAPI_BODY, CsvUpload
from services.capacity.service_layer import handlers, views, window_handlers
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork, ConcurrentUpdate
from shared.audit_api import audit_router
from shared.auth import (
    BuyerOrOperator,
    CurrentPrincipal,
    Operator,
    Principal,
    Supplier,
    SupplierOrOperator,
)
from shared.problems import problem_response


async def get_uow(request: Request) -> CapacityUnitOfWork:
    return request.app.state.runtime.uow_factory()


UowDep = Annotated[CapacityUnitOfWork, Depends(get_uow)]
Cursor = Annotated[str | None, Query(max_length=100, description="next_cursor of the last page")]
Limit = Annotated[int, Query(ge=1, le=200)]
M = TypeVar("M", bound=BaseModel)


def actor(principal: Principal) -> Actor:
    return Actor(principal.firm_id, principal.role.value, principal.clusters)


# Every change can clash with the current state (overlap, held hours, a duplicate id, …) or,
# after retries, with a concurrent writer: 409.
CONFLICT = {409: {"description": "clashes with the current state, or a concurrent update"}}
audit_routes = audit_router(get_uow, actions=handlers.AUDITED_ACTIONS)
router = APIRouter(prefix="/v1", generate_unique_id_function=lambda r: r.name,
                   responses={401: {"description": "no or invalid bearer token"},
                              403: {"description": "the caller's role may not do this"}})


def out(schema: type[M], value: object) -> M:
    """Domain object (or page of them) → response schema; never an ORM row."""
    return schema.model_validate(value, from_attributes=True)


def utc(value: datetime | None) -> datetime | None:
    return value and value.astimezone(UTC)


@router.post("/clusters",
             summary="Create a cluster (operator)", status_code=201,
             tags=["clusters"], responses=CONFLICT)
def create_cluster(body: s.ClusterCreate, p: Operator, uow: UowDep) -> s.ClusterPublic:
    cmd = c.CreateCluster(actor(p), cluster_id=body.id, name=body.name, lat=body.lat,
                          lon=body.lon, max_distance_km=body.max_distance_km)
    return out(s.ClusterPublic, handlers.create_cluster(cmd, uow))


@router.get("/clusters", summary="Clusters", tags=["clusters"])
def list_clusters(_: CurrentPrincipal, uow: UowDep) -> s.ClustersPublic:
    return out(s.ClustersPublic, views.list_clusters(uow))


@router.get("/clusters/{cluster_id}", summary="One cluster", tags=["clusters"])
def get_cluster(cluster_id: str, _: CurrentPrincipal, uow: UowDep) -> s.ClusterPublic:
    return out(s.ClusterPublic, views.get_cluster(cluster_id, uow))


@router.post("/factories",
             summary="Register a factory (supplier)", status_code=201,
             tags=["factories"], responses=CONFLICT)
def register_factory(body: s.FactoryCreate, p: Supplier, uow: UowDep) -> s.FactoryPublic:
    cmd = c.RegisterFactory(
        actor(p), cluster_id=body.cluster_id, name=body.name, lat=body.lat, lon=body.lon,
        declared_tier=body.declared_tier, sme=body.sme, certifications=tuple(body.certifications),
    )
    return out(s.FactoryPublic, handlers.register_factory(cmd, uow))


@router.get("/factories",
            summary="Factories (a supplier's own; every factory for the operator)",
            tags=["factories"])
def list_factories(
    p: SupplierOrOperator, uow: UowDep, cursor: Cursor = None, limit: Limit = 50,
    cluster_id: Annotated[str | None, Query(max_length=64, description="one cluster")] = None,
    verified: Annotated[bool | None, Query(
        description="false: factories whose tier the operator has not verified yet")] = None,
) -> s.FactoriesPublic:
    """A supplier's own factories; every factory for the operator."""
    return out(s.FactoriesPublic, views.list_factories(
        actor(p), uow, cursor=cursor, limit=limit, cluster_id=cluster_id, verified=verified))


@router.get("/factories/{factory_id}", summary="One factory", tags=["factories"])
def get_factory(factory_id: str, p: SupplierOrOperator, uow: UowDep) -> s.FactoryPublic:
    return out(s.FactoryPublic, views.get_factory(actor(p), factory_id, uow))


@router.patch("/factories/{factory_id}",
              summary="Change one's factory: name, place, SME flag, certifications, declared tier",
              tags=["factories"])
def update_factory(factory_id: str, body: s.FactoryUpdate, p: Supplier,
                   uow: UowDep) -> s.FactoryPublic:
    """Name, location, SME flag, certifications or declared tier of one's own factory. Held and
    accepted hours stay where they are; the matcher plans new work with the new values."""
    changes = FactoryChanges(
        name=body.name, lat=body.lat, lon=body.lon, sme=body.sme,
        certifications=None if body.certifications is None else list(body.certifications),
        declared_tier=body.declared_tier)
    cmd = c.UpdateFactory(actor(p), factory_id, changes)
    return out(s.FactoryPublic, handlers.update_factory(cmd, uow))


@router.delete("/factories/{factory_id}", summary="Retire one's factory (a site closed)",
               status_code=204, tags=["factories"], responses=CONFLICT)
def retire_factory(factory_id: str, p: Supplier, uow: UowDep) -> Response:
    """Every machine in it retires and their windows that have not ended close; the factory
    is gone for every read but its reservations. 409 while hours are held or accepted in it."""
    handlers.retire_factory(c.RetireFactory(actor(p), factory_id), uow)
    return Response(status_code=204)


@router.post("/factories/{factory_id}/tier-verification",
             summary="Verify a factory's tier (operator)", tags=["factories"], responses=CONFLICT)
def verify_tier(factory_id: str, body: s.TierVerification, p: Operator,
                uow: UowDep) -> s.FactoryPublic:
    cmd = c.VerifyTier(actor(p), factory_id, body.tier)
    return out(s.FactoryPublic, handlers.verify_tier(cmd, uow))


@router.post("/factories/{factory_id}/machines",
             summary="Add a machine to one's factory", status_code=201, tags=["machines"],
             responses=CONFLICT)
def add_machine(factory_id: str, body: s.MachineCreate, p: Supplier,
                uow: UowDep) -> s.MachinePublic:
    cmd = c.AddMachine(actor(p), factory_id, name=body.name, process=body.process,
                       hourly_rate=body.hourly_rate, materials=tuple(body.materials))
    return out(s.MachinePublic, handlers.add_machine(cmd, uow))


@router.get("/factories/{factory_id}/machines", summary="A factory's machines", tags=["machines"])
def list_machines(factory_id: str, p: SupplierOrOperator, uow: UowDep) -> s.MachinesPublic:
    return out(s.MachinesPublic, views.list_machines(actor(p), factory_id, uow))


@router.get("/machines/{machine_id}", summary="One machine", tags=["machines"])
def get_machine(machine_id: str, p: SupplierOrOperator, uow: UowDep) -> s.MachinePublic:
    return out(s.MachinePublic, views.get_machine(actor(p), machine_id, uow))


@router.patch("/machines/{machine_id}",
              summary="Change one's machine: name, materials, hourly rate", tags=["machines"])
def update_machine(machine_id: str, body: s.MachineUpdate, p: Supplier,
                   uow: UowDep) -> s.MachinePublic:
    """Name, materials or hourly rate of one's own machine."""
    changes = MachineChanges(
        name=body.name, hourly_rate=body.hourly_rate,
        materials=None if body.materials is None else list(body.materials))
    cmd = c.UpdateMachine(actor(p), machine_id, changes)
    return out(s.MachinePublic, handlers.update_machine(cmd, uow))


@router.delete("/machines/{machine_id}",
               summary="Retire one's machine (its windows close)", status_code=204,
               tags=["machines"], responses=CONFLICT)
def retire_machine(machine_id: str, p: Supplier, uow: UowDep) -> Response:
    """Retire one's own machine: its windows that have not ended close and it is gone for
    every read. 409 while hours are held or accepted on it (decline or finish them first)."""
    handlers.retire_machine(c.RetireMachine(actor(p), machine_id), uow)
    return Response(status_code=204)


@router.post("/machines/{machine_id}/windows",
             summary="Offer a machine's idle hours (a window)", status_code=201, tags=["windows"],
             responses=CONFLICT)
def open_window(machine_id: str, body: s.WindowCreate, p: Supplier,
                uow: UowDep) -> s.WindowPublic:
    cmd = c.OpenWindow(actor(p), machine_id, start=body.start.astimezone(UTC),
                       end=body.end.astimezone(UTC), hours=body.hours)
    return out(s.WindowPublic, handlers.open_machine_window(cmd, uow))


@router.get("/machines/{machine_id}/windows",
            summary="A machine's open windows, by start", tags=["windows"])
def list_windows(machine_id: str, p: SupplierOrOperator, uow: UowDep, cursor: Cursor = None,
                 limit: Limit = 100) -> s.WindowsPublic:
    """Open windows by start time, a page at a time."""
    page = views.list_windows(actor(p), machine_id, uow, cursor=cursor, limit=limit)
    return out(s.WindowsPublic, page)


@router.post("/windows:import",
             summary="Import windows from a CSV file (all rows or none)", status_code=201,
             tags=["windows"], openapi_extra=OPENAPI_BODY,
             responses={**CONFLICT, 413: {"description": "file too large"},
                        415: {"description": "neither text/csv nor multipart/form-data"}})
def import_windows(p: Supplier, uow: UowDep, csv_text: CsvUpload) -> s.WindowsImported:
    """All rows or none: a bad row → 422 listing every bad row (1-based) and why."""
    windows = window_handlers.import_windows(c.ImportWindows(actor(p), csv_text), uow)
    return s.WindowsImported(imported=len(windows), window_ids=[w.id for w in windows])


@router.get("/windows/{window_id}", summary="One window", tags=["windows"])
def get_window(window_id: str, p: SupplierOrOperator, uow: UowDep) -> s.WindowPublic:
    return out(s.WindowPublic, views.get_window(actor(p), window_id, uow))


@router.patch("/windows/{window_id}",
              summary="Move or resize a window", tags=["windows"], responses=CONFLICT)
def update_window(window_id: str, body: s.WindowUpdate, p: Supplier,
                  uow: UowDep) -> s.WindowPublic:
    cmd = c.UpdateWindow(actor(p), window_id, start=utc(body.start), end=utc(body.end),
                         hours=body.hours)
    return out(s.WindowPublic, window_handlers.update_window(cmd, uow))


@router.delete("/windows/{window_id}",
               summary="Close a window without holds or acceptances", status_code=204,
               tags=["windows"], responses=CONFLICT)
def close_window(window_id: str, p: Supplier, uow: UowDep) -> Response:
    window_handlers.close_window(c.CloseWindow(actor(p), window_id), uow)
    return Response(status_code=204)


@router.get("/availability",
            summary="Free hours per process × tier × week (buyers; no firm identities)",
            tags=["availability"])
def get_availability(
    p: BuyerOrOperator, uow: UowDep,
    cluster: Annotated[str, Query(min_length=1, max_length=63)],
    process: Annotated[str | None, Query(), AfterValidator(s.known_process)] = None,
    min_tier: s.Tier | None = None,
) -> s.AvailabilityPublic:
    """Free hours per process × tier × ISO week; buckets of fewer than 3 factories suppressed."""
    found = views.availability(actor(p), uow, cluster_id=cluster, process=process,
                               min_tier=min_tier)
    return out(s.AvailabilityPublic, found)


@router.get("/reservations",
            summary="Reservations (a supplier's own; every one for the operator)",
            tags=["reservations"])
def list_reservations(
    p: SupplierOrOperator, uow: UowDep, status: s.ReservationStatus | None = None,
    cursor: Cursor = None, limit: Limit = 50,
    factory_id: Annotated[str | None, Query(max_length=100, description="one factory")] = None,
    order_id: Annotated[str | None, Query(
        max_length=100, description="one order: its steps held or accepted here")] = None,
    production: Annotated[s.Production | None, Query(
        description="the work on accepted hours: not_started (to do), started, completed")
    ] = None,
    ready: Annotated[bool | None, Query(
        description="true: accepted hours whose work may start now (not started, nothing in "
        "waiting_for); false: accepted hours not started that still wait for other steps")
    ] = None,
) -> s.ReservationsPublic:
    """A supplier's own reservations; every reservation for the operator."""
    page = views.list_reservations(actor(p), uow, status=status and Status(status),
                                   cursor=cursor, limit=limit, factory_id=factory_id,
                                   order_id=order_id, production=production, ready=ready)
    return out(s.ReservationsPublic, page)


@router.get("/reservations/{reservation_id}", summary="One reservation", tags=["reservations"])
def get_reservation(reservation_id: str, p: SupplierOrOperator,
                    uow: UowDep) -> s.ReservationPublic:
    return out(s.ReservationPublic, views.get_reservation(actor(p), reservation_id, uow))


@router.post("/reservations/{reservation_id}/accept",
             summary="Accept held hours", tags=["reservations"], responses=CONFLICT)
def accept_reservation(reservation_id: str, p: Supplier, uow: UowDep) -> s.ReservationPublic:
    cmd = c.AcceptReservation(actor(p), reservation_id)
    return out(s.ReservationPublic, handlers.accept_reservation(cmd, uow))


@router.post("/reservations/{reservation_id}/start",
             summary="Report that the work of accepted hours has started",
             tags=["reservations"], responses=CONFLICT)
def start_production(reservation_id: str, p: Supplier, uow: UowDep) -> s.ReservationPublic:
    """The step goes into production; from then on the buyer can no longer cancel or revise
    the order. Only accepted hours, once."""
    cmd = c.ReportWork(actor(p), reservation_id)
    return out(s.ReservationPublic, handlers.start_production(cmd, uow))


@router.post("/reservations/{reservation_id}/complete",
             summary="Report that the work of accepted hours is done",
             tags=["reservations"], responses=CONFLICT)
def complete_production(reservation_id: str, p: Supplier,
                        uow: UowDep) -> s.ReservationPublic:
    """The step is completed (started now, if that was not reported); the order is completed
    when all its steps are. Only accepted hours, once."""
    cmd = c.ReportWork(actor(p), reservation_id)
    return out(s.ReservationPublic, handlers.complete_production(cmd, uow))


@router.post("/reservations/{reservation_id}/decline",
             summary="Decline held hours (the step is planned elsewhere)",
             tags=["reservations"], responses=CONFLICT)
def decline_reservation(reservation_id: str, body: s.DeclineRequest, p: Supplier,
                        uow: UowDep) -> s.ReservationPublic:
    cmd = c.DeclineReservation(actor(p), reservation_id, reason=body.reason)
    return out(s.ReservationPublic, handlers.decline_reservation(cmd, uow))


_STATUS: list[tuple[type[Exception], int, str]] = [
    (errors.NotFound, 404, "Not found"),
    (errors.Forbidden, 403, "Forbidden"),
    (errors.InvalidInput, 422, "Validation failed"),
    (errors.ImportRejected, 422, "Validation failed"),
    (errors.Conflict, 409, "Conflict"),
    (ConcurrentUpdate, 409, "Conflict"),
]


def _field_errors(exc: Exception) -> list[dict] | None:
    if isinstance(exc, errors.InvalidInput):
        return [{"field": f"{exc.source}.{exc.field}", "message": exc.message, "type": "domain"}]
    if isinstance(exc, errors.ImportRejected):  # rows are 1-based data rows of the file
        return [({"row": e.row} if e.row is not None else {})
                | {"field": e.field, "message": e.message} for e in exc.errors]
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors become problem documents (404/403/422/409)."""

    async def _domain(request: Request, exc: Exception) -> JSONResponse:
        status, title = next((st, t) for cls, st, t in _STATUS if isinstance(exc, cls))
        detail = "concurrent update; please retry" if isinstance(exc, ConcurrentUpdate) \
            else str(exc)
        return problem_response(request, status=status, title=title, detail=detail,
                                errors=_field_errors(exc))

    app.add_exception_handler(errors.DomainError, _domain)
    app.add_exception_handler(ConcurrentUpdate, _domain)

