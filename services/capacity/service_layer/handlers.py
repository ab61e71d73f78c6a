"""Command and event handlers: ``with uow`` → load → one domain call → publish → commit.

Every writing handler is retried as a whole when the store reports a concurrent update
(a window's version moved, or a unique index caught a race); the retry reads fresh state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.capacity.domain import commands
from services.capacity.domain.errors import DuplicateId, InvalidInput, NotFound
from services.capacity.domain.holding import (
    ORDER_CANCELLED,
    Ask,
    HoldTerms,
    place_holds,
    refuse_all,
)
from services.capacity.domain.ids import new_id
from services.capacity.domain.model import OPERATOR, SUPPLIER, Actor, Cluster, Factory, Machine
from services.capacity.domain.reservations import (
    Job,
    PrecedingStep,
    Reservation,
    Status,
    completed_steps,
)
from services.capacity.domain.windows import Window, close_for_retirement, open_window
from services.capacity.service_layer import messages
from services.capacity.service_layer.base import (
    CONSUMER,
    ReservationRead,
    as_read,
    owned_factory,
    retry_on_conflict,
    step_holds,
)
from services.capacity.service_layer.releases import release_cancelled_order
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork
from shared.audit import AuditEntry
from shared.events import Envelope
from shared.events.payloads import (
    AllocationProposed,
    AllocationProposedV2,
    AllocationProposedV3,
    OrderCancelled,
    ProposedAllocation,
    ProposedJobAllocation,
    ProposedStepJob,
)

logger = logging.getLogger(__name__)


@retry_on_conflict
def create_cluster(cmd: commands.CreateCluster, uow: CapacityUnitOfWork) -> Cluster:
    cmd.actor.require(OPERATOR)
    with uow:
        if uow.clusters.get(cmd.cluster_id) is not None:
            raise DuplicateId("cluster", cmd.cluster_id)
        cluster = Cluster(id=cmd.cluster_id, name=cmd.name, lat=cmd.lat, lon=cmd.lon,
                          max_distance_km=cmd.max_distance_km)
        uow.clusters.add(cluster)
        uow.publish(messages.cluster_created(cluster))
        uow.commit()
    return cluster


@retry_on_conflict
def register_factory(cmd: commands.RegisterFactory, uow: CapacityUnitOfWork) -> Factory:
    cmd.actor.require(SUPPLIER)
    with uow:
        if uow.clusters.get(cmd.cluster_id) is None or not cmd.actor.may_use_cluster(
            cmd.cluster_id
        ):
            raise InvalidInput("cluster_id", f"unknown cluster {cmd.cluster_id!r} for this firm")
        factory = Factory(
            id=new_id("fac"), firm_id=cmd.actor.firm_id, cluster_id=cmd.cluster_id,
            name=cmd.name, lat=cmd.lat, lon=cmd.lon, declared_tier=cmd.declared_tier,
            sme=cmd.sme, certifications=list(cmd.certifications),
        )
        uow.factories.add(factory)
        uow.publish(messages.factory_state(factory, registered=True))
        uow.commit()
    return factory


@retry_on_conflict
def verify_tier(cmd: commands.VerifyTier, uow: CapacityUnitOfWork) -> Factory:
    cmd.actor.require(OPERATOR)
    with uow:
        factory = owned_factory(uow, cmd.actor, cmd.factory_id)
        previous = factory.verified_tier
        factory.verify_tier(cmd.tier)
        uow.factories.save(factory)
        uow.publish(messages.factory_state(factory, registered=False))
        uow.audit.add(audited(cmd.actor, "factory.tier_verified", "factory", factory.id,
                              tier=cmd.tier, previous_tier=previous, firm_id=factory.firm_id))
        uow.commit()
    return factory


@retry_on_conflict
def update_factory(cmd: commands.UpdateFactory, uow: CapacityUnitOfWork) -> Factory:
    """The supplier's changes to its factory; ``factory.updated`` and an audit entry naming
    what changed, or nothing at all when nothing did."""
    cmd.actor.require(SUPPLIER)
    with uow:
        factory = owned_factory(uow, cmd.actor, cmd.factory_id, lock=True)  # one at a time
        changed = factory.amend(cmd.changes)
        if changed:
            uow.factories.save(factory)
            uow.publish(messages.factory_state(factory, registered=False))
            uow.audit.add(audited(cmd.actor, "factory.updated", "factory", factory.id,
                                  at=cmd.at, **{f: getattr(factory, f) for f in changed}))
            uow.commit()
    return factory


@retry_on_conflict
def retire_factory(cmd: commands.RetireFactory, uow: CapacityUnitOfWork) -> None:
    """Take a factory off the platform (a site closed): every machine in it is retired as
    ``retire_machine`` retires one, all or none, and the factory is gone for every read and
    write but its reservations. Refused (409) while hours are held or accepted in it."""
    cmd.actor.require(SUPPLIER)
    with uow:
        factory = owned_factory(uow, cmd.actor, cmd.factory_id, lock=True)
        machines = uow.machines.for_factory(factory.id, lock=True)  # as changes lock them
        closed = _retire(uow, machines, at=cmd.at, retiring="the factory")
        factory.retired_at = cmd.at
        uow.factories.save(factory)
        uow.audit.add(audited(cmd.actor, "factory.retired", "factory", factory.id, at=cmd.at,
                              machines=[m.id for m in machines],
                              closed_windows=[w.id for w in closed]))
        uow.commit()


@retry_on_conflict
def add_machine(cmd: commands.AddMachine, uow: CapacityUnitOfWork) -> Machine:
    cmd.actor.require(SUPPLIER)
    with uow:  # the factory's row locked: a machine is never added to a factory retiring
        factory = owned_factory(uow, cmd.actor, cmd.factory_id, lock=True)
        machine = Machine(id=new_id("mac"), factory_id=factory.id, name=cmd.name,
                          process=cmd.process, materials=list(cmd.materials),
                          hourly_rate=cmd.hourly_rate)
        uow.machines.add(machine)
        uow.publish(messages.machine_state(machine, cluster_id=factory.cluster_id, added=True))
        uow.commit()
    return machine


@retry_on_conflict
def open_machine_window(cmd: commands.OpenWindow, uow: CapacityUnitOfWork) -> Window:
    cmd.actor.require(SUPPLIER)
    with uow:
        machine, factory = _owned_machine(uow, cmd.actor, cmd.machine_id)
        window = open_window(
            window_id=new_id("win"), machine_id=machine.id, factory_id=factory.id,
            cluster_id=factory.cluster_id, start=cmd.start, end=cmd.end, hours=cmd.hours,
            existing=uow.windows.for_machine(machine.id), now=cmd.at,
        )
        uow.windows.add(window)
        uow.publish(messages.window_opened(window))
        uow.commit()
    return window


@retry_on_conflict
def update_machine(cmd: commands.UpdateMachine, uow: CapacityUnitOfWork) -> Machine:
    """The supplier's changes to its machine; ``machine.updated`` and an audit entry, or
    nothing when nothing changed. Hours held or accepted keep their price."""
    cmd.actor.require(SUPPLIER)
    with uow:
        machine, factory = _owned_machine(uow, cmd.actor, cmd.machine_id)
        changed = machine.amend(cmd.changes)
        if changed:
            uow.machines.save(machine)
            uow.publish(messages.machine_state(machine, cluster_id=factory.cluster_id,
                                               added=False))
            uow.audit.add(audited(cmd.actor, "machine.updated", "machine", machine.id,
                                  at=cmd.at, factory_id=factory.id,
                                  **{f: getattr(machine, f) for f in changed}))
            uow.commit()
    return machine


@retry_on_conflict
def retire_machine(cmd: commands.RetireMachine, uow: CapacityUnitOfWork) -> None:
    """Take a machine off the platform: its windows that have not ended close
    (``window.closed`` each, so the matcher stops planning on them) and the machine is gone
    for every read and write. Refused (409) while hours are held or accepted on it."""
    cmd.actor.require(SUPPLIER)
    with uow:
        machine, factory = _owned_machine(uow, cmd.actor, cmd.machine_id)
        closed = _retire(uow, [machine], at=cmd.at, retiring="the machine")
        uow.audit.add(audited(cmd.actor, "machine.retired", "machine", machine.id, at=cmd.at,
                              factory_id=factory.id, closed_windows=[w.id for w in closed]))
        uow.commit()


def _retire(uow: CapacityUnitOfWork, machines: list[Machine], *, at: datetime,
            retiring: str) -> list[Window]:
    """Retire ``machines`` (rows locked by the caller): close their windows that have not
    ended, all or none (``close_for_retirement``), with ``window.closed`` each; the windows
    closed."""
    windows = uow.windows.for_machines(m.id for m in machines)
    closed = close_for_retirement(
        windows, now=at, retiring=retiring,
        completed_hours=uow.reservations.completed_hours(w.id for w in windows))
    for window in closed:
        uow.windows.save(window)
    for machine in machines:
        machine.retired_at = at
        uow.machines.save(machine)
    uow.publish_all([messages.window_closed(w) for w in closed])
    return closed


def _owned_machine(uow: CapacityUnitOfWork, actor: Actor, machine_id: str
                   ) -> tuple[Machine, Factory]:
    """The caller's machine, its row locked (serialises overlap checks and changes), and its
    factory; 404 for any other firm's."""
    machine = uow.machines.get(machine_id, lock=True)
    factory = machine and uow.factories.get(machine.factory_id)
    if (machine is None or factory is None or factory.retired_at is not None
            or not factory.is_owned_by(actor)):
        raise NotFound("machine", machine_id)
    return machine, factory


def _owned_reservation(uow: CapacityUnitOfWork, actor: Actor, reservation_id: str
                       ) -> tuple[Reservation, Factory]:
    reservation = uow.reservations.get(reservation_id, lock=True)
    factory = reservation and uow.factories.get(reservation.factory_id)
    if reservation is None or factory is None or not factory.is_owned_by(actor):
        raise NotFound("reservation", reservation_id)
    return reservation, factory


@retry_on_conflict
def accept_reservation(cmd: commands.AcceptReservation, uow: CapacityUnitOfWork
                       ) -> ReservationRead:
    """The supplier takes the held hours (with what their work waits for, as it reads them)."""
    with uow:
        reservation, factory = _owned_reservation(uow, cmd.actor, cmd.reservation_id)
        reservation.accept(now=cmd.at)
        window = _window_of(uow, reservation)
        window.accept_held(reservation.hours)
        uow.windows.save_hours(window)
        uow.reservations.save_status(reservation, expected=Status.HELD)
        uow.publish(messages.reservation_accepted(reservation, factory_name=factory.name))
        uow.audit.add(audited(cmd.actor, "reservation.accepted", "reservation", reservation.id,
                              at=cmd.at, order_id=reservation.order_id,
                              step_id=reservation.step_id, hours=reservation.hours))
        [read] = as_read(uow, [reservation])
        uow.commit()
    return read


def start_production(cmd: commands.ReportWork, uow: CapacityUnitOfWork) -> ReservationRead:
    """The supplier began the work of accepted hours; orders moves the step into production."""
    return _report_work(cmd, uow, Reservation.start, messages.reservation_started,
                        action="reservation.started")


def complete_production(cmd: commands.ReportWork, uow: CapacityUnitOfWork
                        ) -> ReservationRead:
    """The supplier finished the work of accepted hours; orders completes the step, and the
    order when every step is completed."""
    return _report_work(cmd, uow, Reservation.complete, messages.reservation_completed,
                        action="reservation.completed")


@retry_on_conflict
def _report_work(cmd: commands.ReportWork, uow: CapacityUnitOfWork,
                 report: Callable[..., None], message: Callable[[Reservation], Envelope], *,
                 action: str) -> ReservationRead:
    with uow:
        reservation, _ = _owned_reservation(uow, cmd.actor, cmd.reservation_id)
        holds = step_holds(uow, [reservation])  # the other steps' reservations, unchanged here
        report(reservation, now=cmd.at, completed_steps=completed_steps(
            holds.get(reservation.order_id, [])))
        uow.reservations.save_production(reservation)
        uow.publish(message(reservation))
        uow.audit.add(audited(cmd.actor, action, "reservation", reservation.id, at=cmd.at,
                              order_id=reservation.order_id, step_id=reservation.step_id))
        [read] = as_read(uow, [reservation], holds)  # started: it waits for nothing
        uow.commit()
    return read


@retry_on_conflict
def decline_reservation(cmd: commands.DeclineReservation, uow: CapacityUnitOfWork
                        ) -> ReservationRead:
    with uow:
        reservation, _ = _owned_reservation(uow, cmd.actor, cmd.reservation_id)
        reservation.decline(cmd.reason, now=cmd.at)
        window = _window_of(uow, reservation)
        window.release_held(reservation.hours)
        uow.windows.save_hours(window)
        uow.reservations.save_status(reservation, expected=Status.HELD)
        uow.publish(messages.reservation_declined(reservation))
        uow.audit.add(audited(cmd.actor, "reservation.declined", "reservation", reservation.id,
                              at=cmd.at, order_id=reservation.order_id,
                              step_id=reservation.step_id, reason=cmd.reason))
        [read] = as_read(uow, [reservation])  # declined: it waits for nothing
        uow.commit()
    return read


AUDITED_ACTIONS = ["factory.tier_verified", "factory.updated", "factory.retired",
                   "machine.updated", "machine.retired", "reservation.accepted",
                   "reservation.declined", "reservation.started", "reservation.completed"]


def audited(actor: Actor, action: str, object_type: str, object_id: str, *,
            at: datetime | None = None, **detail: object) -> AuditEntry:
    """The audit row of a change, written by the handler in the change's transaction."""
    return AuditEntry(actor=actor.firm_id, role=actor.role, action=action,
                      object_type=object_type, object_id=object_id,
                      at=at or datetime.now(UTC), detail=detail)


def _window_of(uow: CapacityUnitOfWork, reservation: Reservation) -> Window:
    window = uow.windows.get_many([reservation.window_id], lock=True).get(reservation.window_id)
    if window is None:  # a foreign key makes this impossible; say so loudly if it happens
        raise LookupError(f"window {reservation.window_id} of {reservation.id} is missing")
    return window


@retry_on_conflict
def hold_proposed_allocations(
    proposal: AllocationProposed,
    uow: CapacityUnitOfWork,
    *,
    envelope: Envelope,
    hold_ttl: timedelta,
    now: datetime | None = None,
) -> None:
    """allocation.proposed: hold every step's hours atomically, or reject the whole order."""
    at = now or datetime.now(UTC)
    asks = [Ask(a.step_id, a.window_id, a.hours, a.price, job=_job(a))
            for a in proposal.allocations]
    terms = HoldTerms(order_id=proposal.order_id, cluster_id=proposal.cluster_id,
                      match_run_id=proposal.match_run_id, now=at, expires_at=at + hold_ttl)
    cause = str(envelope.event_id)
    with uow:
        if not uow.claim(CONSUMER, envelope):
            logger.info("allocation.proposed %s was applied before; skipped", cause)
            return
        if uow.orders.lock(proposal.order_id, cluster_id=proposal.cluster_id):
            outcome = refuse_all(asks, ORDER_CANCELLED)
        else:
            outcome = place_holds(
                asks, terms=terms, new_id=lambda: new_id("res"),
                windows=uow.windows.get_many({a.window_id for a in asks}, lock=True),
                reserved=uow.reservations.active_for_steps([a.step_id for a in asks]),
            )
        for window in outcome.windows:
            uow.windows.save_hours(window)
        for reservation in outcome.reservations:
            uow.reservations.add(reservation)
        uow.publish_all(  # one INSERT for the order's events
            [messages.reservation_held(r, causation_id=cause) for r in outcome.reservations]
            + [messages.reservation_rejected(
                refusal, cluster_id=proposal.cluster_id, order_id=proposal.order_id,
                match_run_id=proposal.match_run_id, causation_id=cause,
            ) for refusal in outcome.refusals])
        uow.commit()
    logger.info("order %s: %d held, %d rejected", proposal.order_id,
                len(outcome.reservations), len(outcome.refusals))


def _job(allocation: ProposedAllocation) -> Job | None:
    """The job a proposal describes: from version 3 with its step and the steps it comes
    after, in version 2 without them; version 1 describes none."""
    if not isinstance(allocation, ProposedJobAllocation):
        return None
    j = allocation.job
    job = Job(title=j.title, process=j.process, material=j.material, quantity=j.quantity,
              due=j.due)
    if not isinstance(j, ProposedStepJob):
        return job
    return replace(job, step=j.step, after=tuple(PrecedingStep(p.step_id, p.key)
                                                 for p in j.after))


# Event payload class → handler (called with the payload, a unit of work, envelope and ttl).
EVENT_HANDLERS: dict[type, Callable[..., None]] = {
    AllocationProposed: hold_proposed_allocations,
    AllocationProposedV2: hold_proposed_allocations,
    AllocationProposedV3: hold_proposed_allocations,
    OrderCancelled: release_cancelled_order,
}
