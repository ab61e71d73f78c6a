"""A match run on the real database solves with no transaction open: an event applied during
the solve commits at once (it would wait for the run if the run held the cluster), and the run
then writes only what is still valid (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.matcher.service_layer import planning
from tests.matcher import events as e
from tests.matcher.integration.conftest import feed, outbox_events, plan_now, steps

pytestmark = pytest.mark.integration


def _during_first_solve(monkeypatch: pytest.MonkeyPatch, client: TestClient,
                        payload: Any) -> list[bool]:
    """Applies ``payload`` from another thread while the first solve runs; answers, per solve,
    whether that event had committed before the solve went on."""
    real = planning.solve_instance
    applied: list[bool] = []

    def solve(instance: Any, options: Any) -> Any:
        if not applied:
            worker = threading.Thread(target=feed, args=(client.app, payload))
            worker.start()
            worker.join(timeout=20)
            applied.append(not worker.is_alive())
        else:
            applied.append(True)
        return real(instance, options)

    monkeypatch.setattr(planning, "solve_instance", solve)
    return applied


def test_a_cancellation_during_the_solve_commits_and_the_run_plans_again(
        client: TestClient, t0: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    feed(client.app, *e.walkthrough(t0))
    solves = _during_first_solve(monkeypatch, client, e.order_cancelled())
    run = plan_now(client)
    assert solves == [True, True]  # applied during the first solve; the run solved again
    assert (run["placed_steps"], run["unplaced_steps"]) == (0, 0)
    assert steps(client.app)["stp-1"]["status"] == "cancelled"
    assert outbox_events(client.app, "allocation.proposed") == []


def test_a_new_order_during_the_solve_leaves_the_plan_as_it_is(
        client: TestClient, t0: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    feed(client.app, *e.walkthrough(t0))
    solves = _during_first_solve(monkeypatch, client, e.order_submitted(t0, "ord-2"))
    run = plan_now(client)
    assert solves == [True] and run["placed_steps"] == 1
    stored = steps(client.app)
    assert (stored["stp-1"]["status"], stored["stp-2"]["status"]) == ("proposed", "pending")
    assert len(outbox_events(client.app, "allocation.proposed")) == 1
