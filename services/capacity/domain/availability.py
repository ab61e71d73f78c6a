"""What buyers may see of capacity: free hours per process × tier × ISO week, no identities.

A window's free hours (offered − held − accepted) lie between now (or its start, if later) and
its end; a window spanning weeks splits them in proportion to its overlap with each ISO week
(weeks start on Monday 00:00 UTC). The tier is the verified tier, ``basic`` without one. A bucket
with fewer than ``MIN_FACTORIES`` distinct factories is suppressed — only counted — so that no
single firm's capacity can be read off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from shared.vocabulary import TIERS, tier_rank

MIN_FACTORIES = 3
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class FreeSlot:
    """The free hours of one open window, with what buckets it."""

    factory_id: str
    process: str
    verified_tier: str | None
    start: datetime
    end: datetime
    free_hours: float

    @property
    def tier(self) -> str:
        return self.verified_tier or TIERS[0]


@dataclass(frozen=True)
class Bucket:
    process: str
    tier: str
    iso_week: str
    free_hours: float
    factories: int


@dataclass(frozen=True)
class Availability:
    items: list[Bucket]
    suppressed_buckets: int


@dataclass
class _Sum:
    hours: float = 0.0
    factories: set[str] = field(default_factory=set)


def aggregate(slots: Iterable[FreeSlot], *, now: datetime, min_tier: str | None = None,
              min_factories: int = MIN_FACTORIES) -> Availability:
    """Buckets with at least ``min_factories`` factories; the others are only counted."""
    sums: dict[tuple[str, str, str], _Sum] = defaultdict(_Sum)
    floor = tier_rank(min_tier)
    for slot in slots:
        start = max(slot.start, now)
        if slot.free_hours <= 0 or slot.end <= start or tier_rank(slot.tier) < floor:
            continue
        for week, share in week_shares(start, slot.end):
            bucket = sums[(slot.process, slot.tier, week)]
            bucket.hours += slot.free_hours * share
            bucket.factories.add(slot.factory_id)
    shown = [Bucket(process, tier, week, round(s.hours, 2), len(s.factories))
             for (process, tier, week), s in sums.items() if len(s.factories) >= min_factories]
    shown.sort(key=lambda b: (b.iso_week, b.process, tier_rank(b.tier)))
    return Availability(shown, suppressed_buckets=len(sums) - len(shown))


def week_shares(start: datetime, end: datetime) -> Iterator[tuple[str, float]]:
    """``("2026-W49", fraction)`` for each ISO week that ``[start, end)`` overlaps."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = (end - start).total_seconds()
    monday = datetime.combine(start.date() - timedelta(days=start.weekday()), time(), UTC)
    cursor = start
    while cursor < end:
        stop = min(end, monday + WEEK)
        year, week, _ = monday.isocalendar()
        yield f"{year}-W{week:02d}", (stop - cursor).total_seconds() / total
        cursor, monday = stop, monday + WEEK
