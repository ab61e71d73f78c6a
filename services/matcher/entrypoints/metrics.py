"""The matcher's domain metrics, on the app's Prometheus registry (see ``shared.metrics``).

Process counters: they start at zero with the process, as Prometheus expects (its ``rate()``
handles the reset). Totals that must survive a restart come from the database (``/v1/stats``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.matcher.domain.model import Plan
from services.matcher.domain.runs import MatchRun
from services.matcher.service_layer import stats
from services.matcher.service_layer.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

# A run takes milliseconds (greedy, small batch) to the solver's time limit and beyond.
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
# Order → first proposal: one planning interval (2 s by default) plus the run.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class MatcherMetrics:
    """Implements ``planning.RunObserver``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.steps_placed = Counter(
            "sharefab_steps_placed", "Steps a match run proposed to a window",
            registry=registry)
        self.steps_unplaced = Counter(
            "sharefab_steps_unplaced", "Steps a match run could not place, by reason",
            ["reason"], registry=registry)
        self.runs = Counter(
            "sharefab_match_runs", "Match runs, by cluster and solver status",
            ["cluster", "status"], registry=registry)
        self.run_seconds = Histogram(
            "sharefab_match_run_seconds", "One match run: load, solve, store, write events",
            buckets=RUN_BUCKETS, registry=registry)
        self.order_to_proposal = Histogram(
            "sharefab_order_to_proposal_seconds",
            "Order accepted by the orders API → the matcher's first proposal for it",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.run_inputs_pruned = Counter(
            "sharefab_match_run_inputs_pruned",
            "Match runs whose input (snapshot) retention deleted; the runs stay",
            registry=registry)
        self.gap = Gauge(
            "sharefab_solver_gap_ratio",
            "Relative gap (objective − bound) / |objective| of the cluster's latest "
            "optimiser run", ["cluster"], registry=registry)

    def run_finished(self, run: MatchRun, *, plan: Plan, elapsed_s: float,
                     first_proposal_latencies_s: list[float]) -> None:
        self.runs.labels(run.cluster_id, run.status).inc()
        self.run_seconds.observe(elapsed_s)
        self.steps_placed.inc(len(plan.allocations))
        for u in plan.unplaced:
            self.steps_unplaced.labels(u.reason).inc()
        for seconds in first_proposal_latencies_s:
            self.order_to_proposal.observe(max(0.0, seconds))
        if run.gap is not None:
            self.gap.labels(run.cluster_id).set(run.gap)


class AtRiskCollector(Collector):
    """``sharefab_orders_at_risk{cluster}`` and ``sharefab_at_risk_hours{cluster}``, read from
    the database when Prometheus scrapes (two small queries; zero for a cluster with none), so
    that an alert can fire on orders left at risk for long."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self._uow_factory = uow_factory

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("sharefab_orders_at_risk",
                                  "Orders with a step accepted and another unplaced, now",
                                  labels=["cluster"]),
                GaugeMetricFamily("sharefab_at_risk_hours",
                                  "Accepted hours not yet done of the orders at risk, now",
                                  labels=["cluster"]))

    def describe(self) -> Iterator[Metric]:  # no query when the registry is built
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        orders, hours = self._families()
        try:
            by_cluster = stats.at_risk_by_cluster(uow=self._uow_factory())
        except Exception:  # the database is down: /readyz says so, /metrics keeps answering
            logger.warning("orders at risk unreadable", exc_info=True)
            by_cluster = {}
        for cluster, at_risk in by_cluster.items():
            orders.add_metric([cluster], at_risk.orders)
            hours.add_metric([cluster], at_risk.hours)
        yield orders
        yield hours
