"""Giving hours back to their windows: holds that expired, and the reservations of an order
its buyer cancelled (held or already accepted)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.capacity.domain.holding import ORDER_CANCELLED
from services.capacity.domain.reservations import Reservation, Status
from services.capacity.domain.windows import Window


@dataclass(frozen=True)
class Released:
    reservation: Reservation
    was: Status  # the status it left (a store compare-and-sets on it)


def expire_holds(due: Iterable[Reservation], *, windows: Mapping[str, Window],
                 now: datetime) -> list[Released]:
    """Every due hold becomes expired and its hours free again."""
    done = []
    for reservation in due:
        was = reservation.status
        reservation.expire(now=now)
        windows[reservation.window_id].release_held(reservation.hours)
        done.append(Released(reservation, was))
    return done


def release_order(active: Iterable[Reservation], *, windows: Mapping[str, Window],
                  now: datetime, reason: str = ORDER_CANCELLED) -> list[Released]:
    """Every held or accepted reservation of a cancelled order becomes released."""
    done = []
    for reservation in active:
        was = reservation.status
        reservation.release(reason, now=now)
        window = windows[reservation.window_id]
        if was is Status.ACCEPTED:
            window.release_accepted(reservation.hours)
        else:
            window.release_held(reservation.hours)
        done.append(Released(reservation, was))
    return done
