"""Work is reported in the order's step order: a step's supplier can start (or complete) it only
once the steps it comes after are completed, whoever made them. The reservation says which it
still waits for (``waiting_for``); the refusal names them, never the other factory, and changes
nothing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import (
    PROBLEM,
    SUP,
    SUP2,
    JobStep,
    build_site,
    create_cluster,
    events,
    feed,
    feed_jobs,
)

pytestmark = pytest.mark.integration


def _mine(client: TestClient, headers: dict) -> dict[str, dict]:
    page = client.get("/v1/reservations", headers=headers, params={"order_id": "ord-7"})
    assert page.status_code == 200, page.text
    return {r["step_id"]: r for r in page.json()["items"]}


def _post(client: TestClient, rid: str, action: str, headers: dict, status: int = 200) -> dict:
    response = client.post(f"/v1/reservations/{rid}/{action}", headers=headers)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == PROBLEM
    return response.json()


def test_a_step_starts_once_the_steps_it_comes_after_are_completed(
        app: FastAPI, client: TestClient) -> None:
    create_cluster(client)
    cutter = build_site(client, headers=SUP, name="Haigang Cutting")
    miller = build_site(client, headers=SUP2, name="Beidaihe Milling")
    feed_jobs(app, "ord-7",
              JobStep("stp-cut", "cut", cutter.window_ids[0], 4.0),
              JobStep("stp-deburr", "deburr", cutter.window_ids[0], 2.0),
              JobStep("stp-mill", "mill", miller.window_ids[0], 6.0,
                      after=("stp-cut", "stp-deburr")))
    cut, deburr = _mine(client, SUP)["stp-cut"]["id"], _mine(client, SUP)["stp-deburr"]["id"]
    mill = _mine(client, SUP2)["stp-mill"]["id"]
    assert _mine(client, SUP2)["stp-mill"]["waiting_for"] == ["cut", "deburr"]  # held
    for rid, headers in ((cut, SUP), (deburr, SUP)):
        assert _post(client, rid, "accept", headers)["waiting_for"] == []
    assert _post(client, mill, "accept", SUP2)["waiting_for"] == ["cut", "deburr"]

    for action in ("start", "complete"):  # a completion counts as a start: refused alike
        refused = _post(client, mill, action, SUP2, status=409)
        assert refused["detail"] == ("step mill of order ord-7 comes after cut, deburr: the "
                                     "work there is not reported completed yet")
        assert cutter.factory_id not in str(refused) and "Haigang" not in str(refused)
    _post(client, cut, "start", SUP)  # started is not enough
    _post(client, deburr, "complete", SUP)
    refused = _post(client, mill, "start", SUP2, status=409)
    assert refused["detail"].endswith("comes after cut: the work there is not reported "
                                      "completed yet")
    shown = client.get(f"/v1/reservations/{mill}", headers=SUP2).json()
    assert (shown["production"], shown["waiting_for"]) == ("not_started", ["cut"])
    assert [(e.type, e.payload["step_id"]) for e in events(app)
            if e.type in ("reservation.started", "reservation.completed")] == [
        ("reservation.started", "stp-cut"), ("reservation.completed", "stp-deburr")]

    _post(client, cut, "complete", SUP)
    assert _mine(client, SUP2)["stp-mill"]["waiting_for"] == []  # it may start
    assert _post(client, mill, "start", SUP2)["production"] == "started"
    assert _post(client, mill, "complete", SUP2)["production"] == "completed"


def test_a_supplier_sees_which_steps_of_the_order_have_no_factory_now(
        app: FastAPI, client: TestClient) -> None:
    create_cluster(client)
    cutter = build_site(client, headers=SUP, name="Haigang Cutting", windows=2)
    miller = build_site(client, headers=SUP2, name="Beidaihe Milling")
    feed_jobs(app, "ord-7", JobStep("stp-cut", "cut", cutter.window_ids[0], 4.0),
              JobStep("stp-mill", "mill", miller.window_ids[0], 6.0, after=("stp-cut",)))
    cut, mill = _mine(client, SUP)["stp-cut"]["id"], _mine(client, SUP2)["stp-mill"]["id"]
    assert _mine(client, SUP2)["stp-mill"]["steps_without_factory"] == []
    assert _post(client, mill, "accept", SUP2)["steps_without_factory"] == []
    declined = client.post(f"/v1/reservations/{cut}/decline", headers=SUP,
                           json={"reason": "laser down"})
    assert declined.status_code == 200 and declined.json()["steps_without_factory"] == []
    # the mill's supplier is told its order has no cutter now, and not who declined
    shown = client.get(f"/v1/reservations/{mill}", headers=SUP2).json()
    assert (shown["status"], shown["steps_without_factory"]) == ("accepted", ["cut"])
    assert _mine(client, SUP2)["stp-mill"]["steps_without_factory"] == ["cut"]
    assert cutter.factory_id not in str(shown) and "Haigang" not in str(shown)
    # the matcher places the cut again (the cutter's other window): the order is whole again
    feed_jobs(app, "ord-7", JobStep("stp-cut", "cut", cutter.window_ids[1], 4.0))
    assert _mine(client, SUP2)["stp-mill"]["steps_without_factory"] == []


def test_holds_made_before_proposals_named_steps_are_not_held_back(
        app: FastAPI, client: TestClient) -> None:
    """Holds made before proposals named steps (version 1 and 2) have nothing to check."""
    create_cluster(client)
    site = build_site(client)
    feed(app, "ord-7", ("stp-mill", site.window_ids[0], 6.0))
    [mill] = _mine(client, SUP).values()
    _post(client, mill["id"], "accept", SUP)
    assert _post(client, mill["id"], "start", SUP)["production"] == "started"


def _ready(client: TestClient, headers: dict, ready: bool, **params: str) -> list[str]:
    """Step ids of every page of ``?ready=``, one reservation per page, sorted (reservation ids
    made in one millisecond need not sort in the order they were made)."""
    steps: list[str] = []
    cursor = None
    while True:
        page = client.get("/v1/reservations", headers=headers, params={
            "ready": str(ready).lower(), "limit": "1", **params,
            **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        steps += [r["step_id"] for r in page.json()["items"]]
        if not (cursor := page.json()["next_cursor"]):
            assert len(set(steps)) == len(steps)  # nothing twice
            return sorted(steps)


def test_a_supplier_lists_the_work_it_may_start_now(app: FastAPI, client: TestClient) -> None:
    create_cluster(client)
    site = build_site(client, windows=2)
    feed_jobs(app, "ord-7",
              JobStep("stp-a", "cut", site.window_ids[0], 2.0),
              JobStep("stp-b", "mill", site.window_ids[0], 2.0, after=("stp-a",)),
              JobStep("stp-c", "drill", site.window_ids[1], 2.0, after=("stp-a",)),
              JobStep("stp-d", "coat", site.window_ids[1], 2.0, after=("stp-b", "stp-c")))
    assert _ready(client, SUP, True) == []  # held hours are not work to start
    ids = {step: r["id"] for step, r in _mine(client, SUP).items()}
    for rid in ids.values():
        _post(client, rid, "accept", SUP)
    # one per page: the pages skip what the filter leaves out
    assert (_ready(client, SUP, True), _ready(client, SUP, False)) == (
        ["stp-a"], ["stp-b", "stp-c", "stp-d"])
    _post(client, ids["stp-a"], "complete", SUP)
    assert (_ready(client, SUP, True), _ready(client, SUP, False)) == (
        ["stp-b", "stp-c"], ["stp-d"])
    _post(client, ids["stp-b"], "start", SUP)  # started: no longer work to start
    assert (_ready(client, SUP, True), _ready(client, SUP, False)) == (["stp-c"], ["stp-d"])
    assert _ready(client, SUP2, True) == []  # another firm's work is not listed

    refused = client.get("/v1/reservations", headers=SUP,
                         params={"ready": "true", "production": "completed"})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert "ready" in refused.text
