"""One window over HTTP: GET, PATCH (move/resize) and DELETE (close), with their events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import (
    OP,
    PROBLEM,
    SUP,
    T0,
    Site,
    add_window,
    build_site,
    count,
    create_cluster,
    event_types,
    events,
    feed,
    iso,
    reservation_ids,
    window,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(client: TestClient) -> Site:
    """Two adjacent 48-h windows of 20 h: [T0, T0+48h) and [T0+48h, T0+96h)."""
    create_cluster(client)
    return build_site(client, windows=2, hours=20.0)


def _patch(client: TestClient, wid: str, body: dict, headers: dict = SUP):  # type: ignore[no-untyped-def]
    return client.patch(f"/v1/windows/{wid}", headers=headers, json=body)


def _problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


def test_get_a_window(client: TestClient, site: Site) -> None:
    w = window(client, site)
    assert (w["machine_id"], w["hours"], w["free_hours"], w["version"]) == (
        site.machine_id, 20.0, 20.0, 0)
    assert datetime.fromisoformat(w["start"]) == T0
    assert client.get(f"/v1/windows/{w['id']}", headers=OP).json() == w
    _problem(client.get("/v1/windows/win_nope", headers=SUP), 404)


def test_patch_resizes_and_moves_and_announces(app: FastAPI, client: TestClient,
                                               site: Site) -> None:
    wid = site.window_ids[0]
    response = _patch(client, wid, {"hours": 30.0})
    assert response.status_code == 200, response.text
    assert (response.json()["hours"], response.json()["free_hours"],
            response.json()["version"]) == (30.0, 30.0, 1)

    # earlier start, given with an offset: stored and answered in UTC
    earlier = (T0 - timedelta(hours=8)).astimezone().isoformat()
    moved = _patch(client, wid, {"start": earlier, "end": iso(T0 + timedelta(hours=40))})
    assert moved.status_code == 200, moved.text
    w = window(client, site)
    assert datetime.fromisoformat(w["start"]) == T0 - timedelta(hours=8)
    assert datetime.fromisoformat(w["end"]) == T0 + timedelta(hours=40)
    assert (w["hours"], w["version"]) == (30.0, 2)

    updated = events(app, "window.updated")
    assert len(updated) == 2
    assert updated[-1].payload | {"start": None, "end": None} == {
        "window_id": wid, "machine_id": site.machine_id, "factory_id": site.factory_id,
        "cluster_id": "qhd-auto", "hours": 30.0, "start": None, "end": None}
    assert datetime.fromisoformat(updated[-1].payload["end"]) == T0 + timedelta(hours=40)


def test_patch_that_changes_nothing_writes_nothing(app: FastAPI, client: TestClient,
                                                   site: Site) -> None:
    response = _patch(client, site.window_ids[0], {"hours": 20.0, "start": iso(T0)})
    assert response.status_code == 200
    assert response.json()["version"] == 0
    assert events(app, "window.updated") == []


@pytest.mark.parametrize(("body", "field"), [
    ({}, "body"),
    ({"hours": None}, "body"),
    ({"hours": 0}, "body.hours"),
    ({"hours": 48.5}, "body.hours"),                                 # > end − start
    ({"end": iso(T0 + timedelta(hours=10))}, "body.end"),            # 20 h no longer fit
    ({"start": iso(T0 + timedelta(hours=30))}, "body.start"),        # 20 h in 18 h
    ({"end": iso(T0)}, "body.end"),                                  # end = start
    ({"start": iso(T0 - timedelta(hours=72)),                        # ended yesterday
      "end": iso(T0 - timedelta(hours=30))}, "body.end"),
    ({"start": "2030-01-01T08:00:00"}, "body.start"),                # no time zone
    ({"machine_id": "mac_other"}, "body.machine_id"),
    ({"held_hours": 0}, "body.held_hours"),
])
def test_invalid_patches_are_422_and_change_nothing(app: FastAPI, client: TestClient,
                                                    site: Site, body: dict, field: str) -> None:
    before = window(client, site)
    problem = _problem(_patch(client, site.window_ids[0], body), 422)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert window(client, site) == before
    assert events(app, "window.updated") == []


def test_patch_into_the_next_window_is_409(app: FastAPI, client: TestClient,
                                           site: Site) -> None:
    problem = _problem(_patch(client, site.window_ids[0],
                              {"end": iso(T0 + timedelta(hours=49))}), 409)
    assert site.window_ids[1] in problem["detail"]
    assert events(app, "window.updated") == []
    # touching it is fine (half-open intervals), and a window does not overlap itself
    assert _patch(client, site.window_ids[1], {"start": iso(T0 + timedelta(hours=48)),
                                               "end": iso(T0 + timedelta(hours=90))}
                  ).status_code == 200


def test_hours_never_drop_below_held_plus_accepted(app: FastAPI, client: TestClient,
                                                   site: Site) -> None:
    wid = site.window_ids[0]
    feed(app, "ord-1", ("stp-1", wid, 6.0))
    feed(app, "ord-2", ("stp-2", wid, 5.0))
    first = reservation_ids(client)[0]
    assert client.post(f"/v1/reservations/{first}/accept", headers=SUP).status_code == 200
    problem = _problem(_patch(client, wid, {"hours": 10.9}), 409)
    assert "11.0 h held or accepted" in problem["detail"]
    assert window(client, site)["hours"] == 20.0
    shrunk = _patch(client, wid, {"hours": 11.0})
    assert shrunk.status_code == 200
    assert (shrunk.json()["free_hours"], shrunk.json()["held_hours"],
            shrunk.json()["accepted_hours"]) == (0.0, 5.0, 6.0)


def test_delete_closes_and_announces(app: FastAPI, client: TestClient, site: Site) -> None:
    wid = site.window_ids[0]
    response = client.delete(f"/v1/windows/{wid}", headers=SUP)
    assert response.status_code == 204 and response.content == b""
    [closed] = events(app, "window.closed")
    assert closed.payload == {"window_id": wid, "machine_id": site.machine_id,
                              "factory_id": site.factory_id, "cluster_id": "qhd-auto"}
    assert closed.key == "qhd-auto"
    _problem(client.get(f"/v1/windows/{wid}", headers=SUP), 404)
    _problem(client.delete(f"/v1/windows/{wid}", headers=SUP), 404)
    _problem(_patch(client, wid, {"hours": 5.0}), 404)
    listed = client.get(f"/v1/machines/{site.machine_id}/windows", headers=SUP).json()["items"]
    assert [w["id"] for w in listed] == [site.window_ids[1]]
    # its time is free again, and the matcher can no longer hold hours on it
    add_window(client, site.machine_id, T0, T0 + timedelta(hours=24), 10.0)
    feed(app, "ord-1", ("stp-1", wid, 1.0))
    [rejected] = events(app, "reservation.rejected")
    assert rejected.payload["reason"] == "unknown_window"
    assert event_types(app).count("window.closed") == 1


def test_a_window_with_holds_or_acceptances_cannot_be_deleted(app: FastAPI, client: TestClient,
                                                              site: Site) -> None:
    wid = site.window_ids[0]
    feed(app, "ord-1", ("stp-1", wid, 6.0))
    [rid] = reservation_ids(client)
    assert "has 6 h held;" in _problem(client.delete(f"/v1/windows/{wid}", headers=SUP), 409)[
        "detail"]
    assert client.post(f"/v1/reservations/{rid}/accept", headers=SUP).status_code == 200
    assert "has 6 h accepted;" in _problem(client.delete(f"/v1/windows/{wid}", headers=SUP),
                                           409)["detail"]
    assert client.post(f"/v1/reservations/{rid}/start", headers=SUP).status_code == 200
    assert "has 6 h accepted;" in _problem(client.delete(f"/v1/windows/{wid}", headers=SUP),
                                           409)["detail"]  # started is not done
    assert window(client, site)["accepted_hours"] == 6.0
    assert events(app, "window.closed") == []


def test_a_window_whose_accepted_work_is_completed_can_be_deleted(
        app: FastAPI, client: TestClient, site: Site) -> None:
    wid = site.window_ids[0]
    feed(app, "ord-1", ("stp-1", wid, 6.0))
    feed(app, "ord-2", ("stp-2", wid, 2.0))
    first, second = (r["id"] for r in sorted(
        client.get("/v1/reservations", headers=SUP).json()["items"],
        key=lambda r: r["order_id"]))
    for rid in (first, second):
        assert client.post(f"/v1/reservations/{rid}/accept", headers=SUP).status_code == 200
    assert client.post(f"/v1/reservations/{first}/complete", headers=SUP).status_code == 200
    refused = _problem(client.delete(f"/v1/windows/{wid}", headers=SUP), 409)["detail"]
    assert "has 2 h accepted;" in refused  # only the work not done yet
    assert client.post(f"/v1/reservations/{second}/complete", headers=SUP).status_code == 200
    assert client.delete(f"/v1/windows/{wid}", headers=SUP).status_code == 204
    assert [e.payload["window_id"] for e in events(app, "window.closed")] == [wid]
    kept = client.get(f"/v1/reservations/{first}", headers=SUP).json()  # the record stays
    assert (kept["status"], kept["production"]) == ("accepted", "completed")


def test_a_window_whose_holds_ended_can_be_deleted(app: FastAPI, client: TestClient,
                                                   site: Site) -> None:
    wid = site.window_ids[0]
    feed(app, "ord-1", ("stp-1", wid, 6.0))
    [rid] = reservation_ids(client)
    client.post(f"/v1/reservations/{rid}/decline", headers=SUP, json={"reason": "busy"})
    assert client.delete(f"/v1/windows/{wid}", headers=SUP).status_code == 204
    # the history stays readable
    assert client.get(f"/v1/reservations/{rid}", headers=SUP).json()["status"] == "declined"
    assert count(app, "windows") == 2


def test_a_machines_windows_come_by_start_a_page_at_a_time(client: TestClient,
                                                          site: Site) -> None:
    rows = [f"{site.machine_id},{iso(T0 + timedelta(hours=100 + 2 * n))},"
            f"{iso(T0 + timedelta(hours=101 + 2 * n))},1" for n in reversed(range(120))]
    imported = client.post("/v1/windows:import", headers=SUP | {"Content-Type": "text/csv"},
                           content="machine_id,start,end,hours\n" + "\n".join(rows))
    assert imported.status_code == 201, imported.text
    assert client.delete(f"/v1/windows/{site.window_ids[1]}", headers=SUP).status_code == 204
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/machines/{site.machine_id}/windows", headers=SUP,
                          params=params).json()
        seen += page["items"]
        cursor, pages = page["next_cursor"], pages + 1
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 121 == len({w["id"] for w in seen})
    starts = [datetime.fromisoformat(w["start"]) for w in seen]
    assert starts == sorted(starts) and starts[0] == T0
    assert site.window_ids[1] not in {w["id"] for w in seen}
    default = client.get(f"/v1/machines/{site.machine_id}/windows", headers=SUP).json()
    assert len(default["items"]) == 100 and default["next_cursor"] == default["items"][-1]["id"]
