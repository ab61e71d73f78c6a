"""The matcher's /metrics after a known match run (the stats scenario)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.helpers import sample, scrape
from tests.matcher import events as e
from tests.matcher.integration import stats_scenario as sc
from tests.matcher.integration.conftest import count, feed, plan_now

pytestmark = pytest.mark.integration


def test_a_run_shows_in_the_domain_metrics(client, t0):  # type: ignore[no-untyped-def]
    sc.feed_scenario(client.app, t0, datetime.now(UTC))
    before = scrape(client.get("/metrics").text)
    assert sample(before, "sharefab_steps_placed_total") == 0
    assert sample(before, "sharefab_order_to_proposal_seconds_count") == 0
    run = plan_now(client)
    plan_now(client)  # nothing left to plan (unplaced steps wait for new capacity)

    got = scrape(client.get("/metrics").text)
    cluster, status = run["cluster_id"], run["status"]
    assert sample(got, "sharefab_match_runs_total", cluster=cluster, status=status) == 2
    assert sample(got, "sharefab_match_run_seconds_count") == 2
    assert sample(got, "sharefab_steps_placed_total") == 2
    assert sample(got, "sharefab_steps_unplaced_total", reason="no_capable_machine") == 1
    # ord-1 and ord-2, submitted 10 s and 20 s before their first proposal (plus the run)
    assert sample(got, "sharefab_order_to_proposal_seconds_count") == 2
    total = sample(got, "sharefab_order_to_proposal_seconds_sum")
    assert 30 <= total < 40
    assert sample(got, "sharefab_order_to_proposal_seconds_bucket", le="5.0") == 0
    assert sample(got, "sharefab_order_to_proposal_seconds_bucket", le="30.0") == 2
    assert sample(got, "sharefab_solver_gap_ratio", cluster=cluster) == run["gap"]
    # the relay is off in these tests: every event written is still in the outbox
    assert sample(got, "sharefab_outbox_backlog") == count(client.app, "outbox")
    assert sample(got, "sharefab_http_requests_total", method="POST", route="/v1/match-runs",
                  status="201") == 2


def test_the_orders_at_risk_are_gauges_by_cluster(client, t0):  # type: ignore[no-untyped-def]
    sc.feed_at_risk(client, t0)
    feed(client.app, e.cluster_created("elsewhere"))
    got = scrape(client.get("/metrics").text)
    assert sample(got, "sharefab_orders_at_risk", cluster=e.CLUSTER) == 2
    assert sample(got, "sharefab_at_risk_hours", cluster=e.CLUSTER) == 2.0  # stp-4a's
    assert sample(got, "sharefab_orders_at_risk", cluster="elsewhere") == 0
    feed(client.app, e.order_cancelled("ord-4", step_ids=("stp-4a", "stp-4b")))
    got = scrape(client.get("/metrics").text)
    assert sample(got, "sharefab_orders_at_risk", cluster=e.CLUSTER) == 1
    assert sample(got, "sharefab_at_risk_hours", cluster=e.CLUSTER) == 0.0
