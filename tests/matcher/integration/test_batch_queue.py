"""A run chooses its batch from one row per waiting order and loads only those orders, however
long the queue (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.matcher.bootstrap import create_app
from services.matcher.domain.readmodel import QueuedOrder
from tests.matcher import events as e
from tests.matcher.integration.conftest import feed, plan_now, settings_for, steps

pytestmark = pytest.mark.integration


@pytest.fixture
def small_batches(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(database_url, run_max_steps=2))) as c:
        yield c


def _queue(client: TestClient) -> list[QueuedOrder]:
    with client.app.state.runtime.uow_factory() as uow:
        return sorted(uow.read_model.pending_queue(e.CLUSTER), key=lambda q: q.order_id)


def _orders(t0: datetime) -> list[Any]:
    return [*e.walkthrough(t0),  # ord-1: one step, priority 3
            e.order_submitted(t0, "ord-2", step_ids=("stp-2a", "stp-2b"), priority=5,
                              hours=1.0),
            e.order_submitted(t0, "ord-3", priority=1, due=t0 + timedelta(days=3)),
            e.order_submitted(t0, "ord-4", priority=1)]


def test_the_queue_has_one_row_per_waiting_order(small_batches: TestClient, t0: Any) -> None:
    before = datetime.now(UTC)
    feed(small_batches.app, *_orders(t0), e.order_cancelled("ord-4", step_ids=("stp-4",)))
    after = datetime.now(UTC)
    due = t0 + timedelta(days=7)
    queue = _queue(small_batches)
    assert [dataclasses.replace(q, submitted_at=None) for q in queue] == [
        QueuedOrder("ord-1", 3, due, 1), QueuedOrder("ord-2", 5, due, 2),
        QueuedOrder("ord-3", 1, t0 + timedelta(days=3), 1)]  # ord-4 was cancelled
    # when the orders API accepted each (the event's time): what paces the planning loop
    assert all(q.submitted_at is not None and before <= q.submitted_at <= after
               for q in queue)


def test_a_run_plans_the_first_orders_of_the_queue_only(small_batches: TestClient,
                                                        t0: Any) -> None:
    feed(small_batches.app, *_orders(t0))
    run = plan_now(small_batches)  # two steps a run: ord-2 (priority 5) alone
    assert run["placed_steps"] + run["unplaced_steps"] == 2
    stored = steps(small_batches.app)
    assert {s: stored[s]["status"] for s in ("stp-1", "stp-3", "stp-4")} == dict.fromkeys(
        ("stp-1", "stp-3", "stp-4"), "pending")
    assert [q.order_id for q in _queue(small_batches)] == ["ord-1", "ord-3", "ord-4"]
    plan_now(small_batches)  # then ord-1 (priority 3) and ord-3 (priority 1, due first)
    assert [q.order_id for q in _queue(small_batches)] == ["ord-4"]
