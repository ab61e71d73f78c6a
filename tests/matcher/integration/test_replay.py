"""POST /v1/match-runs/{id}/replay: the stored input solved again, deterministically; and
the input's retention (a run's record stays, its input goes)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.matcher.bootstrap import create_app
from services.matcher.service_layer.retention import prune_run_inputs
from tests.helpers import sample, scrape
from tests.matcher import events as e
from tests.matcher.integration.conftest import (
    BUYER,
    OPERATOR,
    SUPPLIER,
    count,
    feed,
    outbox_events,
    plan_now,
    settings_for,
)

pytestmark = pytest.mark.integration


def busy_cluster(t0):  # type: ignore[no-untyped-def]
    """Three mills and four orders competing for them."""
    return [*e.walkthrough(t0),
            e.machine_added("mch-2", hourly_rate=150.0),
            e.machine_added("mch-3", hourly_rate=200.0),
            e.window_opened(t0, "win-2", machine_id="mch-2"),
            e.window_opened(t0, "win-3", machine_id="mch-3", hours=12.0),
            e.order_submitted(t0, "ord-2", hours=14.0, priority=2),
            e.order_submitted(t0, "ord-3", hours=9.0, priority=4),
            e.order_submitted(t0, "ord-4", hours=7.0)]


def test_a_deterministic_run_replays_identically(database_url, t0):  # type: ignore[no-untyped-def]
    settings = settings_for(database_url, solver_deterministic=True, solver_seed=7)
    with TestClient(create_app(settings)) as client:
        feed(client.app, *busy_cluster(t0))
        run = plan_now(client)
        assert run["placed_steps"] >= 3
        detail = client.get(f"/v1/match-runs/{run['id']}", headers=OPERATOR).json()
        assert detail["parameters"]["deterministic"] is True
        assert detail["parameters"]["seed"] == 7 and detail["parameters"]["solver"] == "cpsat"
        events_before = len(outbox_events(client.app))
        r = client.post(f"/v1/match-runs/{run['id']}/replay", headers=OPERATOR)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body == {"match_run_id": run["id"], "identical": True,
                        "objective": run["objective"], "original_objective": run["objective"],
                        "original_deterministic": True, "differences": []}
        again = client.post(f"/v1/match-runs/{run['id']}/replay", headers=OPERATOR).json()
        assert again == body
        assert len(outbox_events(client.app)) == events_before  # a replay changes nothing
        assert count(client.app, "match_runs") == 1


def test_runs_store_bound_gap_and_seed(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *busy_cluster(t0))
    run = plan_now(client)
    with client.app.state.runtime.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT objective, bound, gap, seed FROM match_runs")).one()
    assert row.objective == run["objective"] and row.seed == 0
    assert row.bound is not None and row.bound <= row.objective + 0.01
    assert 0 <= row.gap < 1e-6  # four small orders: solved to optimality
    r = client.post(f"/v1/match-runs/{run['id']}/replay", headers=OPERATOR).json()
    assert r["original_deterministic"] is False  # solved against the clock: reported
    assert r["identical"] is True  # (a run this small is optimal either way)


def test_a_difference_is_reported_step_by_step(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *busy_cluster(t0))
    run = plan_now(client)
    with client.app.state.runtime.engine.begin() as conn:  # as if the run had chosen otherwise
        conn.execute(sa.text("UPDATE proposals SET window_id = 'win-x' WHERE step_id = 'stp-1'"))
    body = client.post(f"/v1/match-runs/{run['id']}/replay", headers=OPERATOR).json()
    assert body["identical"] is False
    (diff,) = body["differences"]
    assert diff["step_id"] == "stp-1" and diff["original_window_id"] == "win-x"
    assert diff["replayed_window_id"] not in (None, "win-x")


def test_replay_is_for_the_operator_and_unknown_runs_are_404(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0))
    run = plan_now(client)
    for headers in (BUYER, SUPPLIER):
        r = client.post(f"/v1/match-runs/{run['id']}/replay", headers=headers)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.post(f"/v1/match-runs/{run['id']}/replay").status_code == 401
    r = client.post("/v1/match-runs/run_missing/replay", headers=OPERATOR)
    assert r.status_code == 404 and r.json()["status"] == 404


def test_the_greedy_can_still_be_chosen(database_url, t0):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(database_url, solver="greedy"))) as client:
        feed(client.app, *busy_cluster(t0))
        run = plan_now(client)
        detail = client.get(f"/v1/match-runs/{run['id']}", headers=OPERATOR).json()
        assert detail["parameters"]["solver"] == "greedy" and run["status"] == "feasible"
        body = client.post(f"/v1/match-runs/{run['id']}/replay", headers=OPERATOR).json()
        assert body["identical"] is True


def test_a_run_past_retention_keeps_its_record_but_not_its_input(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *busy_cluster(t0))
    first = plan_now(client)
    feed(client.app, e.order_submitted(t0, "ord-5", hours=3.0))
    second = plan_now(client)
    uow_factory = client.app.state.runtime.uow_factory
    assert prune_run_inputs(uow_factory, days=30) == 0  # both runs are new
    month_later = datetime.now(UTC) + timedelta(days=31)
    assert prune_run_inputs(uow_factory, days=30, now=month_later, batch=1) == 2
    assert prune_run_inputs(uow_factory, days=30, now=month_later) == 0  # nothing left
    assert prune_run_inputs(uow_factory, days=0, now=month_later) == 0  # 0: keep
    for run in (first, second):
        r = client.post(f"/v1/match-runs/{run['id']}/replay", headers=OPERATOR)
        assert r.status_code == 410, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "MATCHER_SNAPSHOT_RETENTION_DAYS" in r.json()["detail"]
        detail = client.get(f"/v1/match-runs/{run['id']}", headers=OPERATOR)
        assert detail.status_code == 200  # the record stays, with its proposals
        assert len(detail.json()["proposals"]) == run["placed_steps"]
    assert count(client.app, "match_runs") == 2


def test_a_started_matcher_deletes_old_inputs_and_counts_them(database_url, t0):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings_for(database_url))) as client:
        feed(client.app, *busy_cluster(t0))
        old = plan_now(client)
        feed(client.app, e.order_submitted(t0, "ord-5", hours=3.0))
        new = plan_now(client)
        with client.app.state.runtime.engine.begin() as conn:  # as if run 40 days ago
            conn.execute(sa.text("UPDATE match_runs SET started_at = :at WHERE id = :id"),
                         {"at": datetime.now(UTC) - timedelta(days=40), "id": old["id"]})
    app = create_app(settings_for(database_url, snapshot_retention_days=30))
    with TestClient(app) as client:  # a restart: retention runs at start

        def pruned() -> float | None:
            return sample(scrape(client.get("/metrics").text),
                          "sharefab_match_run_inputs_pruned_total")

        deadline = time.monotonic() + 20
        while pruned() != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pruned() == 1
        assert client.post(f"/v1/match-runs/{old['id']}/replay",
                           headers=OPERATOR).status_code == 410
        assert client.post(f"/v1/match-runs/{new['id']}/replay",
                           headers=OPERATOR).status_code == 200
