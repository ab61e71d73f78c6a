"""The background planning loop plans clusters with pending steps by itself."""

import time

import pytest
from fastapi.testclient import TestClient

from services.matcher.bootstrap import create_app
from tests.matcher import events as e
from tests.matcher.integration.conftest import feed, outbox_events, settings_for

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
