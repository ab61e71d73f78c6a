"""Reservations and their state machine.

    held → accepted | declined | expired | released | rejected
    accepted → released            (its order was cancelled)

Every other transition is illegal. Only held and accepted reservations occupy window hours.

An accepted reservation then records the supplier's work on it: when production started and
when it was completed (``start``, ``complete``). That is progress on the accepted hours, not a
new status: the hours stay accepted, and every count of held and accepted hours stays as it is.
Work on a step starts only once the steps it comes after (``Job.after``) are completed: their
parts are what it works on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.capacity.domain.errors import HoldExpired, IllegalTransition, WorkOutOfOrder


class Status(StrEnum):
    HELD = "held"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    RELEASED = "released"
    REJECTED = "rejected"


ACTIVE = frozenset({Status.HELD, Status.ACCEPTED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.HELD: frozenset({Status.ACCEPTED, Status.DECLINED, Status.EXPIRED, Status.RELEASED,
                            Status.REJECTED}),
    Status.ACCEPTED: frozenset({Status.RELEASED}),
    Status.DECLINED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.RELEASED: frozenset(),
    Status.REJECTED: frozenset(),
}


@dataclass(frozen=True)
class PrecedingStep:
    """A step of the same order to be completed before the job's work starts."""

    step_id: str
    key: str


@dataclass(frozen=True)
class Job:
    """What the held hours are for, as the matcher described it: what to make, how many, by
    when, and after which of the order's steps. Never who asks (the buyer stays unnamed to the
    supplier)."""

    title: str
    process: str
    material: str | None
    quantity: int
    due: datetime
    step: str | None = None  # the step's key; None when the proposal did not say (before v3)
    after: tuple[PrecedingStep, ...] = ()


@dataclass(frozen=True)
class StepHold:
    """The latest reservation of one step of an order: its status, whether its work is
    reported completed, and the step's key when the proposal named it."""

    step_id: str
    key: str | None
    status: Status
    completed: bool = False


def completed_steps(latest: Iterable[StepHold]) -> set[str]:
    """The steps with accepted hours whose work is reported completed (``latest``: the latest
    reservation of each of an order's steps; accepted hours are the last a step gets)."""
    return {h.step_id for h in latest if h.status is Status.ACCEPTED and h.completed}


@dataclass
class Reservation:
    id: str
    order_id: str
    step_id: str
    window_id: str
    factory_id: str
    cluster_id: str
    hours: float
    price: float
    expires_at: datetime
    created_at: datetime
    status: Status = Status.HELD
    match_run_id: str | None = None
    reason: str | None = None
    updated_at: datetime | None = None
    job: Job | None = None  # None when the proposal did not describe it (allocation.proposed v1)
    started_at: datetime | None = None  # the supplier began the work (accepted only)
    completed_at: datetime | None = None  # the supplier finished it

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def production(self) -> str | None:
        """not_started, started or completed for accepted hours (and for released ones that had
        started: the record of the work); None for hours never accepted."""
        if self.completed_at is not None:
            return "completed"
        if self.started_at is not None:
            return "started"
        return "not_started" if self.status is Status.ACCEPTED else None

    def awaited_steps(self, completed_steps: Collection[str]) -> list[str]:
        """The keys of the steps this one's work still waits for (``completed_steps``: which of
        the order's steps are completed); none once the work started or the hours ended."""
        if self.job is None or self.started_at is not None or not self.is_active:
            return []
        return [p.key for p in self.job.after if p.step_id not in completed_steps]

    def steps_without_factory(self, latest: Collection[StepHold]) -> list[str]:
        """The keys of the order's other steps whose latest hours were given up (declined,
        expired, released or refused) and not held anywhere again (``latest``: the latest
        reservation of each of the order's steps): the order cannot be completed until the
        matcher places them. Said only while these hours are held or accepted and their work
        not completed."""
        if not self.is_active or self.completed_at is not None:
            return []
        return sorted(h.key for h in latest
                      if h.step_id != self.step_id and h.status not in ACTIVE and h.key)

    def start(self, *, now: datetime, completed_steps: Collection[str] = ()) -> None:
        """The supplier began the work on these accepted hours (``completed_steps``: which of
        the order's steps are completed)."""
        self._check_producing(completed_steps)
        if self.started_at is not None:
            raise IllegalTransition(
                f"production of reservation {self.id} started at {self.started_at.isoformat()}")
        self.started_at = now

    def complete(self, *, now: datetime, completed_steps: Collection[str] = ()) -> None:
        """The supplier finished the work (started now, if it was not reported before)."""
        self._check_producing(completed_steps)
        self.started_at = self.started_at or now
        self.completed_at = now

    def _check_producing(self, completed_steps: Collection[str]) -> None:
        if self.status is not Status.ACCEPTED:
            raise IllegalTransition(
                f"reservation {self.id} is {self.status}; only accepted hours go into production")
        if self.completed_at is not None:
            raise IllegalTransition(f"reservation {self.id} was completed at "
                                    f"{self.completed_at.isoformat()}")
        if waiting := self.awaited_steps(completed_steps):
            raise WorkOutOfOrder(
                f"step {self.job.step} of order {self.order_id} comes after "
                f"{', '.join(waiting)}: the work there is not reported completed yet")

    def accept(self, *, now: datetime) -> None:
        self._check(Status.ACCEPTED)
        if now >= self.expires_at:
            raise HoldExpired(
                f"the hold of reservation {self.id} expired at {self.expires_at.isoformat()}"
            )
        self._move(Status.ACCEPTED, now=now)

    def decline(self, reason: str, *, now: datetime) -> None:
        self._check(Status.DECLINED)
        self.reason = reason
        self._move(Status.DECLINED, now=now)

    def expire(self, *, now: datetime) -> None:
        self._check(Status.EXPIRED)
        if now < self.expires_at:
            raise IllegalTransition(
                f"the hold of reservation {self.id} lasts until {self.expires_at.isoformat()}")
        self._move(Status.EXPIRED, now=now)

    def release(self, reason: str, *, now: datetime) -> None:
        """Give the hours back (held or accepted), e.g. because the order was cancelled."""
        self._check(Status.RELEASED)
        self.reason = reason
        self._move(Status.RELEASED, now=now)

    def transition(self, to: Status, *, now: datetime) -> None:
        """Any legal move."""
        self._check(to)
        self._move(to, now=now)

    def _check(self, to: Status) -> None:
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"reservation {self.id} is {self.status}; it cannot become {to}")

    def _move(self, to: Status, *, now: datetime) -> None:
        self.status = to
        self.updated_at = now
