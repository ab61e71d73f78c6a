"""Capacity windows: hours a machine offers between two instants, and what is held of them.

Invariant: ``0 ≤ held_hours``, ``0 ≤ accepted_hours`` and ``held + accepted ≤ hours``.
``version`` grows with every change of the hours, so a store can compare-and-set on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.capacity.domain.errors import CapacityExceeded, InvalidInput, WindowOverlap

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

    @property
    def free_hours(self) -> float:
        return max(0.0, self.hours - self.held_hours - self.accepted_hours)

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

    def _take_held(self, hours: float) -> None:
        if hours > self.held_hours + EPSILON:
            raise CapacityExceeded(f"window {self.id} holds only {self.held_hours} h")
        self.held_hours = max(0.0, self.held_hours - hours)


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
) -> Window:
    """A new window, checked against the rules and the machine's other windows."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInput(name, "must carry a time zone (UTC)")
    if not end > start:
        raise InvalidInput("end", "must be after start")
    span_h = (end - start).total_seconds() / 3600
    if not 0 < hours <= span_h + EPSILON:
        raise InvalidInput("hours", f"must be greater than 0 and at most {round(span_h, 3)}")
    window = Window(id=window_id, machine_id=machine_id, factory_id=factory_id,
                    cluster_id=cluster_id, start=start, end=end, hours=hours)
    clash = next((w for w in existing if w.overlaps(window)), None)
    if clash is not None:
        raise WindowOverlap(
            f"machine {machine_id} already offers window {clash.id} "
            f"({clash.start.isoformat()} – {clash.end.isoformat()})"
        )
    return window
