"""A supplier reports the work of accepted hours: POST /v1/reservations/{id}/start and
/complete. Only accepted hours, each once; the hours stay accepted; events and audit."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import (
    OP,
    PROBLEM,
    SUP,
    SUP2,
    build_site,
    cancel,
    create_cluster,
    event_types,
    events,
    feed,
    reservation_ids,
    window,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(app: FastAPI, client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    site = build_site(client, hours=20.0)
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    return site


def _post(client: TestClient, rid: str, action: str, headers: dict = SUP,
          status: int = 200) -> dict:
    response = client.post(f"/v1/reservations/{rid}/{action}", headers=headers)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == PROBLEM
    return response.json()


def test_accepted_hours_are_started_then_completed(app: FastAPI, client: TestClient,
                                                   site) -> None:  # type: ignore[no-untyped-def]
    [rid] = reservation_ids(client)
    held = _post(client, rid, "start", status=409)
    assert held["detail"] == f"reservation {rid} is held; only accepted hours go into production"
    assert _post(client, rid, "accept")["production"] == "not_started"

    started = _post(client, rid, "start")
    assert (started["status"], started["production"]) == ("accepted", "started")
    assert started["started_at"] and started["completed_at"] is None
    assert "started at" in _post(client, rid, "start", status=409)["detail"]
    [event] = events(app, "reservation.started")
    assert (event.key, event.correlation_id) == ("qhd-auto", "ord-1")
    assert event.payload | {"started_at": None} == {
        "cluster_id": "qhd-auto", "order_id": "ord-1", "step_id": "stp-1",
        "window_id": site.window_ids[0], "hours": 6.0, "reservation_id": rid,
        "factory_id": site.factory_id, "started_at": None}

    done = _post(client, rid, "complete")
    assert (done["production"], done["started_at"]) == ("completed", started["started_at"])
    assert done["completed_at"] >= done["started_at"]
    for action in ("start", "complete"):
        assert "was completed at" in _post(client, rid, action, status=409)["detail"]
    [event] = events(app, "reservation.completed")
    assert event.payload["started_at"] == events(app, "reservation.started")[0].payload[
        "started_at"]
    assert client.get(f"/v1/reservations/{rid}", headers=SUP).json() == done

    w = window(client, site)  # the hours stay accepted: the work used them
    assert (w["accepted_hours"], w["free_hours"]) == (6.0, 14.0)
    audit = client.get("/v1/audit", headers=OP).json()["items"]
    assert [e["action"] for e in audit if e["object_id"] == rid][:2] == [
        "reservation.completed", "reservation.started"]


def test_completed_without_a_reported_start(app: FastAPI, client: TestClient,
                                            site) -> None:  # type: ignore[no-untyped-def]
    [rid] = reservation_ids(client)
    _post(client, rid, "accept")
    done = _post(client, rid, "complete")
    assert done["started_at"] == done["completed_at"]
    assert event_types(app).count("reservation.started") == 0
    assert event_types(app).count("reservation.completed") == 1


def test_only_the_owner_reports_and_nothing_changes_otherwise(
        app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    [rid] = reservation_ids(client)
    _post(client, rid, "accept")
    _post(client, rid, "start", headers=SUP2, status=404)
    _post(client, rid, "complete", headers=OP, status=403)  # the operator does not report work
    _post(client, "res_nope", "start", status=404)
    assert client.get(f"/v1/reservations/{rid}", headers=SUP).json()["production"] == (
        "not_started")
    assert event_types(app).count("reservation.started") == 0


def test_a_cancelled_order_releases_started_hours_and_keeps_the_record(
        app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    """The buyer's cancel reached orders before the start did (orders refuses a cancel once it
    knows of a start): capacity gives the hours back, and the start stays on record."""
    [rid] = reservation_ids(client)
    _post(client, rid, "accept")
    _post(client, rid, "start")
    cancel(app, "ord-1", "stp-1")
    released = client.get(f"/v1/reservations/{rid}", headers=SUP).json()
    assert (released["status"], released["reason"], released["production"]) == (
        "released", "order_cancelled", "started")
    assert "is released; only accepted hours" in _post(client, rid, "complete",
                                                       status=409)["detail"]
    assert window(client, site)["free_hours"] == 20.0


def test_a_supplier_lists_its_work_by_production(app: FastAPI, client: TestClient,
                                                 site) -> None:  # type: ignore[no-untyped-def]
    feed(app, "ord-2", ("stp-2", site.window_ids[0], 2.0))
    feed(app, "ord-3", ("stp-3", site.window_ids[0], 2.0))
    feed(app, "ord-4", ("stp-4", site.window_ids[0], 2.0))
    by_order = {r["order_id"]: r["id"] for r in client.get(
        "/v1/reservations", headers=SUP).json()["items"]}  # ids made in one millisecond
    first, second, third, held = (by_order[f"ord-{n}"] for n in (1, 2, 3, 4))  # may not sort
    for rid in (first, second, third):
        _post(client, rid, "accept")
    _post(client, second, "start")
    _post(client, third, "complete")
    by = {stage: reservation_ids(client, production=stage)
          for stage in ("not_started", "started", "completed")}
    assert by == {"not_started": [first], "started": [second], "completed": [third]}
    assert reservation_ids(client, production="not_started", order_id="ord-2") == []
    assert reservation_ids(client, status="held") == [held]

    bad = client.get("/v1/reservations", headers=SUP, params={"production": "done"})
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert [e["field"] for e in bad.json()["errors"]] == ["query.production"]
