"""Operator statistics over a time window: the arithmetic, apart from where the rows come from.

A step can be planned more than once (unplaced, then placed when capacity arrives; proposed,
then given back and proposed elsewhere). Over a window each step counts once, with the outcome
of the latest match run in the window that planned it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_WINDOW = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(days=90)


class InvalidWindow(ValueError):
    pass


def parse_window(text: str) -> timedelta:
    """``15m``, ``1h``, ``24h``, ``7d`` (also ``90s``): between a minute and 90 days."""
    found = _WINDOW.match(text.strip())
    if found is None:
        raise InvalidWindow(f"window {text!r} is not a number followed by s, m, h or d "
                            "(e.g. 15m, 1h, 24h, 7d)")
    window = timedelta(seconds=int(found[1]) * _UNIT[found[2]])
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise InvalidWindow(f"window {text!r} must be between 1m and 90d")
    return window


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least ``q`` of them at or below it);
    None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Outcome:
    """What one match run decided for one step."""

    step_id: str
    run_id: str
    run_started_at: datetime
    placed: bool
    hours: float = 0.0  # placed hours
    sme: bool = False  # placed at an SME factory
    transport_km: float = 0.0
    reason: str | None = None  # why unplaced


@dataclass
class StepTotals:
    placed: int = 0
    unplaced: int = 0
    placed_hours: float = 0.0
    sme_hours: float = 0.0
    transport_km: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def match_rate(self) -> float | None:
        return ratio(self.placed, self.placed + self.unplaced)

    @property
    def sme_share(self) -> float | None:
        return ratio(self.sme_hours, self.placed_hours)

    @property
    def mean_transport_km(self) -> float | None:
        return self.transport_km / self.placed if self.placed else None


def latest_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    """Per step, the outcome of its latest run (by start time, then run id)."""
    latest: dict[str, Outcome] = {}
    for o in outcomes:
        seen = latest.get(o.step_id)
        if seen is None or (o.run_started_at, o.run_id) > (seen.run_started_at, seen.run_id):
            latest[o.step_id] = o
    return list(latest.values())


def step_totals(outcomes: list[Outcome]) -> StepTotals:
    totals = StepTotals()
    for o in latest_outcomes(outcomes):
        if o.placed:
            totals.placed += 1
            totals.placed_hours += o.hours
            totals.sme_hours += o.hours if o.sme else 0.0
            totals.transport_km += o.transport_km
        else:
            totals.unplaced += 1
            totals.reasons[o.reason or "unknown"] += 1
    return totals


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None


def latency(seconds: list[float]) -> Latency:
    return Latency(count=len(seconds), p50=percentile(seconds, 0.50),
                   p95=percentile(seconds, 0.95), p99=percentile(seconds, 0.99))


def buckets(since: datetime, until: datetime, count: int) -> list[datetime]:
    """The start of ``count`` equal buckets covering [since, until)."""
    width = (until - since) / count
    return [since + i * width for i in range(count)]


def bucket_index(at: datetime, *, since: datetime, width: timedelta, count: int) -> int | None:
    """Which bucket ``at`` falls in (the last one includes ``until``), or None outside."""
    if at < since:
        return None
    i = int((at - since) / width)
    if i == count and at - since == width * count:
        return count - 1
    return i if i < count else None


@dataclass(frozen=True)
class Completed:
    """Work the suppliers reported done in a window: steps, their machine hours, and orders
    whose last step was completed then."""

    steps: int = 0
    hours: float = 0.0
    orders: int = 0


@dataclass(frozen=True)
class InProduction:
    """Work the suppliers reported started and not yet completed: steps, their machine
    hours."""

    steps: int = 0
    hours: float = 0.0


@dataclass(frozen=True)
class AtRisk:
    """Orders that cannot be completed as they stand although suppliers committed to them:
    a step accepted, and another step unplaced (its supplier declined or its window went,
    and no other window could take it). ``steps`` and ``hours`` are the accepted work of those
    orders not yet completed: capacity the suppliers hold for them."""

    orders: int = 0
    steps: int = 0
    hours: float = 0.0


@dataclass(frozen=True)
class UnplacedStep:
    step_id: str
    key: str
    reason: str | None
    detail: str | None


@dataclass(frozen=True)
class OrderAtRisk:
    """One order of ``AtRisk``: who placed it, when it is due, its accepted work not yet
    completed (steps, hours), and the steps no window could take, with why."""

    order_id: str
    cluster_id: str
    buyer_firm_id: str
    title: str
    due: datetime
    steps: int  # all of the order's
    steps_completed: int
    steps_at_risk: int
    at_risk_hours: float
    unplaced: tuple[UnplacedStep, ...]


@dataclass(frozen=True)
class RunSummary:
    id: str
    cluster_id: str
    trigger: str
    status: str
    placed_steps: int
    unplaced_steps: int
    wall_s: float
    gap: float | None
    started_at: datetime
