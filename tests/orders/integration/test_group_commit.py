"""Concurrent ``POST /v1/orders`` are written in groups (``SubmitQueue``): every request gets
its own answer — new order, idempotent replay or problem — and the store holds each order,
its event and its timeline entry exactly once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.orders.entrypoints import submit_queue
from services.orders.entrypoints.submit_queue import SubmitQueue
from services.orders.service_layer.group_commit import submit_each
from tests.orders.integration.support import BUYER, count, order_body, outbox_events

pytestmark = pytest.mark.integration


def _requests() -> list[tuple[dict[str, Any], str | None]]:
    """30 new orders (10 with keys), each keyed one sent twice more, 5 invalid."""
    new = [(order_body(title=f"Lot {n}"), f"key-{n}" if n < 10 else None) for n in range(30)]
    replays = new[:10] * 2  # the same bodies and keys
    invalid = [(order_body(title=f"Bad {n}", due="2020-01-01T00:00:00Z"), None) for n in range(5)]
    return new + replays + invalid


def test_concurrent_posts_are_grouped_and_each_answered(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue: SubmitQueue = app.state.submit_queue
    real_write = SubmitQueue._write
    first = threading.Event()

    def write_once_enough_wait(self: SubmitQueue, cmds: list) -> list:  # type: ignore[type-arg]
        if not first.is_set():  # hold the first group until others queue behind it
            first.set()
            deadline = time.monotonic() + 10
            while len(self._waiting) < 20 and time.monotonic() < deadline:
                time.sleep(0.01)
        return real_write(self, cmds)

    monkeypatch.setattr(SubmitQueue, "_write", write_once_enough_wait)
    one_by_one: list[int] = []  # groups that fell back to a transaction per request

    def each(cmds: list, uow_factory: Any) -> list:  # type: ignore[type-arg]
        one_by_one.append(len(cmds))
        return submit_each(cmds, uow_factory)

    monkeypatch.setattr(submit_queue, "submit_each", each)
    requests = _requests()
    before = count(app, "orders"), count(app, "order_timeline")

    def post(item: tuple[dict[str, Any], str | None]) -> tuple[int, dict[str, Any]]:
        body, key = item
        headers = {**BUYER, **({"Idempotency-Key": key} if key else {})}
        response = client.post("/v1/orders", json=body, headers=headers)
        return response.status_code, response.json()

    # every request in flight at once: however many the held first group took, 20 more can
    # wait behind it (with 24 at a time, a first group of 5 left at most 19 to wait)
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        answers = list(pool.map(post, requests))

    assert queue.largest >= 20 and queue.groups < len(requests)
    assert all(n == 1 for n in one_by_one), one_by_one  # keyed groups are written together
    statuses = [status for status, _ in answers]
    assert statuses[:50] == [201] * 50
    assert statuses[50:] == [422] * 5
    ids = [body["id"] for _, body in answers[:30]]
    assert len(set(ids)) == 30
    assert [body["id"] for _, body in answers[30:50]] == ids[:10] * 2  # replays: the same order
    assert [body["title"] for _, body in answers[:30]] == [f"Lot {n}" for n in range(30)]
    assert answers[50][1]["errors"][0]["field"] == "body.due"
    assert count(app, "orders") - before[0] == 30
    submitted = [e for e in outbox_events(app) if e["type"] == "order.submitted"]
    assert sorted(e["payload"]["order_id"] for e in submitted) == sorted(ids)
    assert count(app, "order_timeline") - before[1] == 30
    conflict = client.post("/v1/orders", json={**requests[3][0], "title": "Other"},
                           headers={**BUYER, "Idempotency-Key": "key-3"})
    assert conflict.status_code == 409 and count(app, "orders") - before[0] == 30
