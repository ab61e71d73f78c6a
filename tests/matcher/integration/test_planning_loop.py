"""The background planning loop plans clusters with pending steps by itself."""

import time

import pytest
from fastapi.testclient import TestClient

from services.matcher.bootstrap import create_app
from services.matcher.domain.pacing import MIN_RUN_S
from tests.matcher import events as e
from tests.matcher.integration.conftest import OPERATOR, feed, outbox_events, settings_for

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout_s=10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_loop_proposes_pending_steps_and_then_rests(database_url, t0):  # type: ignore[no-untyped-def]
    settings = settings_for(database_url, planner_enabled=True, batch_interval_s=0.05)
    with TestClient(create_app(settings)) as client:
        feed(client.app, *e.walkthrough(t0))
        assert wait_for(lambda: outbox_events(client.app, "match_run.completed"))
        (proposed,) = outbox_events(client.app, "allocation.proposed")
        assert proposed["payload"]["allocations"][0]["window_id"] == "win-1"
        (done,) = outbox_events(client.app, "match_run.completed")
        assert done["payload"]["trigger"] == "interval"
        time.sleep(0.3)  # several intervals: nothing pending, so no more runs
        assert len(outbox_events(client.app, "match_run.completed")) == 1


def test_the_loop_paces_a_run_when_a_full_batch_arrived_since_its_last_one(database_url, t0):  # type: ignore[no-untyped-def]
    settings = settings_for(database_url, planner_enabled=True, batch_interval_s=3600,
                            batch_max_steps=2, solver_time_limit_s=2.0, solver_threads=1)
    with TestClient(create_app(settings)) as client:
        # one order of two steps: a full batch, but one order measures no arrival rate
        feed(client.app, *e.walkthrough(t0)[:-1],
             e.order_submitted(t0, step_ids=("stp-1a", "stp-1b"), hours=2.0))
        assert wait_for(lambda: len(outbox_events(client.app, "match_run.completed")) == 1)
        # two more steps within moments of the first run: its successor must not take 2 s
        feed(client.app, e.order_submitted(t0, "ord-3"), e.order_submitted(t0, "ord-4"))
        assert wait_for(lambda: len(outbox_events(client.app, "match_run.completed")) == 2)
        runs = client.get("/v1/match-runs", headers=OPERATOR).json()["items"]
        first, paced = (client.get(f"/v1/match-runs/{r['id']}", headers=OPERATOR).json()
                        for r in reversed(runs))
        assert (first["trigger"], paced["trigger"]) == ("batch_full", "batch_full")
        assert first["parameters"]["time_limit_s"] == 2.0
        assert paced["parameters"]["time_limit_s"] == MIN_RUN_S
        replay = client.post(f"/v1/match-runs/{paced['id']}/replay", headers=OPERATOR)
        assert replay.status_code == 200, replay.text
        assert replay.json()["identical"] is True
