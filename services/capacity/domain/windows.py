"""Capacity windows: hours a machine offers between two instants, and what is held of them.

Invariant: ``0 ≤ held_hours``, ``0 ≤ accepted_hours`` and ``held + accepted ≤ hours``; the
windows of one machine never overlap. ``version`` grows with every change (hours, times,
closing), so a store can compare-and-set on it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from services.capacity.domain.errors import (
    BelowReserved,
    CapacityExceeded,
    InvalidInput,
    WindowInUse,
    WindowOverlap,
)

K = TypeVar("K", bound=Hashable)

EPSILON = 1e-9


@dataclass
class Window:
    id: str
    machine_id: str
    factory_id: str
    cluster_id: str
    start: datetime
    end: datetime
    hours: float
    held_hours: float = 0.0
    accepted_hours: float = 0.0
    version: int = 0
    closed_at: datetime | None = None

    @property
    def reserved_hours(self) -> float:
        return self.held_hours + self.accepted_hours

    @property
    def free_hours(self) -> float:
        return max(0.0, self.hours - self.reserved_hours)

    def overlaps(self, other: Window) -> bool:
        """Half-open intervals: a window may start where another ends."""
        return self.start < other.end and other.start < self.end

    def hold(self, hours: float) -> None:
        if not hours > 0:
            raise InvalidInput("hours", "must be greater than 0")
        if hours > self.free_hours + EPSILON:
            raise CapacityExceeded(
                f"window {self.id} has {round(self.free_hours, 3)} h free, {hours} h asked"
            )
        self.held_hours += hours

    def release_held(self, hours: float) -> None:
        self._take_held(hours)

    def accept_held(self, hours: float) -> None:
        self._take_held(hours)
        self.accepted_hours += hours

    def release_accepted(self, hours: float) -> None:
        if hours > self.accepted_hours + EPSILON:
            raise CapacityExceeded(f"window {self.id} has only {self.accepted_hours} h accepted")
        self.accepted_hours = max(0.0, self.accepted_hours - hours)

    def _take_held(self, hours: float) -> None:
        if hours > self.held_hours + EPSILON:
            raise CapacityExceeded(f"window {self.id} holds only {self.held_hours} h")
        self.held_hours = max(0.0, self.held_hours - hours)

    def reschedule(self, *, start: datetime | None, end: datetime | None, hours: float | None,
                   others: Iterable[Window], now: datetime) -> bool:
        """Move and/or resize; False when nothing changes. ``others``: the machine's windows.
        A new ``end`` must be after ``now``; other changes may touch a window that has ended."""
        new_start, new_end = start or self.start, end or self.end
        new_hours = self.hours if hours is None else hours
        if (new_start, new_end, new_hours) == (self.start, self.end, self.hours):
            return False
        blame = "hours" if hours is not None else ("end" if end is not None else "start")
        check_shape(new_start, new_end, new_hours, hours_field=blame,
                    now=now if end is not None else None)
        if new_hours < self.reserved_hours - EPSILON:
            raise BelowReserved(
                f"window {self.id} has {round(self.reserved_hours, 3)} h held or accepted; "
                f"it cannot offer only {new_hours} h")
        moved = replace(self, start=new_start, end=new_end, hours=new_hours)
        _refuse_overlap(moved, (w for w in others if w.id != self.id))
        self.start, self.end, self.hours = new_start, new_end, new_hours
        return True

    def promised_hours(self, completed_hours: float = 0.0) -> float:
        """Hours held, or accepted with the work not reported completed (``completed_hours``
        of the accepted ones were): work still promised on the window."""
        return self.held_hours + max(0.0, self.accepted_hours - completed_hours)

    def close(self, *, now: datetime, completed_hours: float = 0.0) -> None:
        """Withdraw the offer; only while no work is promised on it (``promised_hours``).
        Accepted hours whose work is completed stay as its record."""
        if self.promised_hours(completed_hours) > EPSILON:
            raise WindowInUse(f"window {self.id} has {_reserved(self, completed_hours)}; it "
                              "cannot be closed")
        self.closed_at = now


def close_for_retirement(windows: Iterable[Window], *, now: datetime, retiring: str,
                         completed_hours: Mapping[str, float]) -> list[Window]:
    """Close every window of a machine (or a factory's machines) being retired that has not
    ended, and return them. A window that has not ended with work promised on it (hours held,
    or accepted and not completed: ``completed_hours`` per window id) stops it: then nothing
    is closed (WindowInUse naming them). Windows that have ended stay as they are, the record
    of work done."""
    current = [w for w in windows if w.end > now]
    busy = [w for w in current if w.promised_hours(completed_hours.get(w.id, 0.0)) > EPSILON]
    if busy:
        raise WindowInUse(
            "hours are held or accepted on " + ", ".join(
                f"window {w.id} ({_reserved(w, completed_hours.get(w.id, 0.0))})"
                for w in busy)
            + f"; decline the holds and finish the accepted work (POST "
              f"/v1/reservations/{{id}}/complete) before retiring {retiring}")
    for w in current:
        w.close(now=now, completed_hours=completed_hours.get(w.id, 0.0))
    return current


def _reserved(w: Window, completed_hours: float) -> str:
    """"6 h held, 2 h accepted", leaving out what is zero (and accepted work completed)."""
    accepted = max(0.0, w.accepted_hours - completed_hours)
    return ", ".join(f"{round(h, 3):g} h {what}" for h, what in
                     ((w.held_hours, "held"), (accepted, "accepted")) if h > EPSILON)


def check_shape(start: datetime, end: datetime, hours: float, *,
                hours_field: str = "hours", now: datetime | None = None) -> None:
    """Time zones present, ``end > start``, ``end > now`` (when given) and
    ``0 < hours ≤ end − start`` (else InvalidInput)."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInput(name, "must carry a time zone (UTC)")
    if not end > start:
        raise InvalidInput("end", "must be after start")
    if now is not None and not end > now:
        raise InvalidInput("end", f"must be in the future (now {now:%Y-%m-%dT%H:%M}Z): "
                                  "a window that has ended offers no hours")
    span_h = (end - start).total_seconds() / 3600
    if not 0 < hours <= span_h + EPSILON:
        raise InvalidInput(hours_field,
                           f"hours must be greater than 0 and at most {round(span_h, 3)} "
                           f"(end − start)")


def _refuse_overlap(window: Window, others: Iterable[Window]) -> None:
    clash = next((w for w in others if w.overlaps(window)), None)
    if clash is not None:
        raise WindowOverlap(
            f"machine {window.machine_id} already offers window {clash.id} "
            f"({clash.start.isoformat()} – {clash.end.isoformat()})"
        )


def find_overlaps(intervals: Sequence[tuple[datetime, datetime, K]]) -> dict[K, K]:
    """For every interval ``(start, end, key)`` that overlaps another: key → one such other key.

    Sorted once, then each interval is compared with the one reaching furthest before it and
    with its successor: O(n log n), and no overlapping interval is missed (half-open).
    """
    order = sorted(intervals, key=lambda i: (i[0], i[1]))
    found: dict[K, K] = {}
    furthest: tuple[datetime, datetime, K] | None = None
    for index, (start, end, key) in enumerate(order):
        if furthest is not None and furthest[1] > start:
            found[key] = furthest[2]
        elif index + 1 < len(order) and order[index + 1][0] < end:
            found[key] = order[index + 1][2]
        if furthest is None or end > furthest[1]:
            furthest = (start, end, key)
    return found


def open_window(
    *,
    window_id: str,
    machine_id: str,
    factory_id: str,
    cluster_id: str,
    start: datetime,
    end: datetime,
    hours: float,
    existing: Iterable[Window],
    now: datetime,
) -> Window:
    """A new window, checked against the rules and the machine's other windows; it must end
    after ``now``."""
    check_shape(start, end, hours, now=now)
    window = Window(id=window_id, machine_id=machine_id, factory_id=factory_id,
                    cluster_id=cluster_id, start=start, end=end, hours=hours)
    _refuse_overlap(window, existing)
    return window
