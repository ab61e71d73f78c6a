"""Reservations and their state machine.

    held → accepted | declined | expired | released | rejected
    accepted → released            (its order was cancelled)

Every other transition is illegal. Only held and accepted reservations occupy window hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.capacity.domain.errors import HoldExpired, IllegalTransition


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
class Job:
    """What the held hours are for, as the matcher described it: what to make, how many, by
    when. Never who asks (the buyer stays unnamed to the supplier)."""

    title: str
    process: str
    material: str | None
    quantity: int
    due: datetime


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

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

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
