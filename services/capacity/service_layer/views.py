"""Read-side use cases: what a caller may see, with cursor pagination (no writes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from services.capacity.domain.availability import Availability, aggregate
from services.capacity.domain.errors import InvalidInput, NotFound
from services.capacity.domain.model import Actor, Cluster, Factory, Machine
from services.capacity.domain.reservations import Status
from services.capacity.domain.windows import Window
from services.capacity.service_layer.base import (
    ReservationRead,
    as_read,
    owned_factory,
    visible_machine,
    visible_window,
)
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None = None


def _page(fetch: Callable[[int], list[T]], limit: int, key: Callable[[T], str]) -> Page[T]:
    """Fetch one more than ``limit``: if it exists, the cursor is the last shown item's key."""
    rows = fetch(limit + 1)
    if len(rows) > limit:
        return Page(rows[:limit], key(rows[limit - 1]))
    return Page(rows)


def list_clusters(uow: CapacityUnitOfWork) -> Page[Cluster]:
    with uow:
        return Page(uow.clusters.list())


def get_cluster(cluster_id: str, uow: CapacityUnitOfWork) -> Cluster:
    with uow:
        cluster = uow.clusters.get(cluster_id)
    if cluster is None:
        raise NotFound("cluster", cluster_id)
    return cluster


def _firm_filter(actor: Actor) -> str | None:
    return None if actor.is_operator else actor.firm_id


def list_factories(actor: Actor, uow: CapacityUnitOfWork, *, cursor: str | None, limit: int,
                   cluster_id: str | None = None, verified: bool | None = None
                   ) -> Page[Factory]:
    """The caller's factories (every factory for the operator), by id; ``cluster_id`` and
    ``verified`` (has a verified tier or not: the operator's queue of tiers to check) narrow
    them. A cluster that does not exist is an InvalidInput, not an empty page."""
    with uow:
        if cluster_id is not None and uow.clusters.get(cluster_id) is None:
            raise InvalidInput("cluster_id", f"unknown cluster {cluster_id!r}", source="query")
        return _page(lambda n: uow.factories.page(
            firm_id=_firm_filter(actor), after=cursor, limit=n, cluster_id=cluster_id,
            verified=verified), limit, lambda f: f.id)


def get_factory(actor: Actor, factory_id: str, uow: CapacityUnitOfWork) -> Factory:
    with uow:
        return owned_factory(uow, actor, factory_id)


def list_machines(actor: Actor, factory_id: str, uow: CapacityUnitOfWork) -> Page[Machine]:
    with uow:
        factory = owned_factory(uow, actor, factory_id)
        return Page(uow.machines.for_factory(factory.id))


def get_machine(actor: Actor, machine_id: str, uow: CapacityUnitOfWork) -> Machine:
    with uow:
        return visible_machine(uow, actor, machine_id)


def list_windows(actor: Actor, machine_id: str, uow: CapacityUnitOfWork, *,
                 cursor: str | None = None, limit: int = 100) -> Page[Window]:
    with uow:
        machine = visible_machine(uow, actor, machine_id)
        return _page(lambda n: uow.windows.page_for_machine(machine.id, after=cursor, limit=n),
                     limit, lambda w: w.id)


def get_window(actor: Actor, window_id: str, uow: CapacityUnitOfWork) -> Window:
    with uow:
        return visible_window(uow, actor, window_id)


def list_reservations(actor: Actor, uow: CapacityUnitOfWork, *, status: Status | None,
                      cursor: str | None, limit: int, factory_id: str | None = None,
                      order_id: str | None = None, production: str | None = None,
                      ready: bool | None = None) -> Page[ReservationRead]:
    """The caller's reservations (every one for the operator), by id; ``factory_id`` (one of
    the caller's factories: another firm's reads as unknown), ``order_id``, ``production``
    (the work on accepted hours: not_started, started, completed) and ``ready`` (work not
    started that may start now, or that still waits for other steps) narrow them. Each says
    which of its order's steps its work still waits for."""
    if ready is not None and production not in (None, "not_started"):
        raise InvalidInput("ready", "only work not started is ready or not; leave out "
                           f"production={production} or ready", source="query")
    with uow:
        if factory_id is not None:
            factory = uow.factories.get(factory_id)
            if factory is None or not factory.is_visible_to(actor):
                raise InvalidInput("factory_id", f"unknown factory {factory_id!r}",
                                   source="query")

        def fetch(n: int, after: str | None) -> list[ReservationRead]:
            return as_read(uow, uow.reservations.page(
                firm_id=_firm_filter(actor), status=status, after=after, limit=n,
                factory_id=factory_id, order_id=order_id,
                production="not_started" if ready is not None else production))

        if ready is None:
            return _page(lambda n: fetch(n, cursor), limit, lambda r: r.id)
        return _page(lambda n: _kept(fetch, n, cursor, keep=lambda r: (not r.waiting_for) == ready),
                     limit, lambda r: r.id)


def _kept(fetch: Callable[[int, str | None], list[ReservationRead]], n: int,
          after: str | None, *, keep: Callable[[ReservationRead], bool]
          ) -> list[ReservationRead]:
    """Up to ``n`` rows after ``after`` that ``keep`` keeps, read ``n`` at a time (a filter the
    database cannot apply; the next page starts after the last row shown)."""
    kept: list[ReservationRead] = []
    while len(kept) < n:
        rows = fetch(n, after)
        kept += [r for r in rows if keep(r)]
        if len(rows) < n:
            break
        after = rows[-1].id
    return kept[:n]


def get_reservation(actor: Actor, reservation_id: str, uow: CapacityUnitOfWork
                    ) -> ReservationRead:
    with uow:
        reservation = uow.reservations.get(reservation_id)
        factory = reservation and uow.factories.get(reservation.factory_id)
        if reservation is None or factory is None or not factory.is_visible_to(actor):
            raise NotFound("reservation", reservation_id)
        [read] = as_read(uow, [reservation])
        return read


def availability(actor: Actor, uow: CapacityUnitOfWork, *, cluster_id: str,
                 process: str | None, min_tier: str | None,
                 now: datetime | None = None) -> Availability:
    """Free hours per process × tier × ISO week of a cluster the caller may use; no identities."""
    at = now or datetime.now(UTC)
    with uow:
        if not actor.may_use_cluster(cluster_id) or uow.clusters.get(cluster_id) is None:
            raise InvalidInput("cluster", f"unknown cluster {cluster_id!r} for this caller",
                               source="query")
        slots = uow.windows.free_slots(cluster_id, process=process, after=at)
    return aggregate(slots, now=at, min_tier=min_tier)
