"""Operator statistics from the matcher's own tables: one report for a window, and the same
window cut into buckets for the dashboard's charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.matcher.domain import stats
from services.matcher.service_layer.planning import require_known
from services.matcher.service_layer.unit_of_work import UnitOfWork
from services.matcher.service_layer.views import decode_cursor, encode_cursor

RECENT_RUNS = 10


@dataclass(frozen=True)
class Report:
    cluster_id: str | None
    since: datetime
    until: datetime
    orders_submitted: int
    steps: stats.StepTotals
    latency: stats.Latency
    offered_hours: float
    placed_hours: float
    completed: stats.Completed
    in_production: stats.InProduction
    at_risk: stats.AtRisk  # now, whatever the window
    runs_total: int
    recent_runs: list[stats.RunSummary]

    @property
    def orders_per_min(self) -> float:
        return self.orders_submitted / ((self.until - self.since).total_seconds() / 60)

    @property
    def utilisation(self) -> float | None:
        return stats.ratio(self.placed_hours, self.offered_hours)


@dataclass(frozen=True)
class Point:
    start: datetime
    orders_submitted: int
    steps_placed: int
    steps_unplaced: int
    latency: stats.Latency


def report(*, uow: UnitOfWork, cluster_id: str | None, window: timedelta,
           now: datetime | None = None) -> Report:
    until = now or datetime.now(UTC)
    since = until - window
    span = {"cluster_id": cluster_id, "since": since, "until": until}
    with uow:
        require_known(uow, cluster_id)
        q = uow.stats
        offered, placed = q.hours(cluster_id=cluster_id, since=since)
        return Report(
            cluster_id=cluster_id, since=since, until=until,
            orders_submitted=len(q.submitted_times(**span)),
            steps=stats.step_totals(q.outcomes(**span)),
            latency=stats.latency([s for _, s in q.first_proposals(**span)]),
            offered_hours=offered, placed_hours=placed, completed=q.completed(**span),
            in_production=q.in_production(cluster_id=cluster_id, until=until),
            at_risk=q.at_risk(cluster_id=cluster_id),
            runs_total=q.run_count(**span),
            recent_runs=q.runs(**span, limit=RECENT_RUNS))


def at_risk_by_cluster(*, uow: UnitOfWork) -> dict[str, stats.AtRisk]:
    with uow:
        return uow.stats.at_risk_by_cluster()


def orders_at_risk(*, uow: UnitOfWork, cluster_id: str | None, cursor: str | None,
                   limit: int) -> tuple[list[stats.OrderAtRisk], str | None]:
    """A page of the orders at risk now, soonest due first, and the next page's cursor.
    Raises UnknownCluster, or InvalidCursor for a cursor this API did not give."""
    after = decode_cursor(cursor) if cursor else None
    with uow:
        require_known(uow, cluster_id)
        orders = uow.stats.orders_at_risk(cluster_id=cluster_id, after=after, limit=limit + 1)
    page = orders[:limit]
    last = page[-1] if len(orders) > limit else None
    return page, None if last is None else encode_cursor(last.due, last.order_id)


def series(*, uow: UnitOfWork, cluster_id: str | None, window: timedelta, buckets: int,
           now: datetime | None = None) -> list[Point]:
    until = now or datetime.now(UTC)
    since = until - window
    width = window / buckets
    span = {"cluster_id": cluster_id, "since": since, "until": until}
    orders = [0] * buckets
    placed = [0] * buckets
    unplaced = [0] * buckets
    latencies: list[list[float]] = [[] for _ in range(buckets)]

    def at(t: datetime) -> int | None:
        return stats.bucket_index(t, since=since, width=width, count=buckets)

    with uow:
        require_known(uow, cluster_id)
        q = uow.stats
        for t in q.submitted_times(**span):
            if (i := at(t)) is not None:
                orders[i] += 1
        for run in q.runs(**span):
            if (i := at(run.started_at)) is not None:
                placed[i] += run.placed_steps
                unplaced[i] += run.unplaced_steps
        for t, seconds in q.first_proposals(**span):
            if (i := at(t)) is not None:
                latencies[i].append(seconds)
    return [Point(start=start, orders_submitted=orders[i], steps_placed=placed[i],
                  steps_unplaced=unplaced[i], latency=stats.latency(latencies[i]))
            for i, start in enumerate(stats.buckets(since, until, buckets))]
