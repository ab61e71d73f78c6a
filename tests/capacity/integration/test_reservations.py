"""Reservations over HTTP: accept and decline from held only, filters and pagination."""

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
    count,
    create_cluster,
    event_types,
    events,
    feed,
    window,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(app: FastAPI, client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    site = build_site(client, hours=20.0)
    for n in range(3):
        feed(app, f"ord-{n}", (f"stp-{n}", site.window_ids[0], 5.0))
    return site


def _ids(client: TestClient, **params: str) -> list[str]:
    return [r["id"] for r in client.get("/v1/reservations", headers=SUP,
                                        params=params).json()["items"]]


def test_decline_frees_hours_and_only_held_moves(app: FastAPI, client: TestClient,
                                                 site) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = _ids(client)
    declined = client.post(f"/v1/reservations/{first}/decline", headers=SUP,
                           json={"reason": "maintenance"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert declined.json()["reason"] == "maintenance" and declined.json()["updated_at"]
    assert window(client, site)["held_hours"] == 10.0
    [event] = events(app, "reservation.declined")
    assert (event.payload["reason"], event.correlation_id) == ("maintenance", "ord-0")

    for path, body in ((f"{first}/accept", None), (f"{first}/decline", {"reason": "again"})):
        response = client.post(f"/v1/reservations/{path}", headers=SUP, json=body)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == PROBLEM
    assert client.post(f"/v1/reservations/{second}/accept", headers=SUP).status_code == 200
    assert client.post(f"/v1/reservations/{second}/accept", headers=SUP).status_code == 409
    w = window(client, site)
    assert (w["held_hours"], w["accepted_hours"], w["free_hours"]) == (5.0, 5.0, 10.0)
    assert event_types(app).count("reservation.accepted") == 1
    assert event_types(app).count("reservation.declined") == 1


def test_decline_needs_a_reason(app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    rid = _ids(client)[0]
    response = client.post(f"/v1/reservations/{rid}/decline", headers=SUP, json={"reason": ""})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.reason"]
    assert events(app, "reservation.declined") == []


def test_unknown_reservation_is_404(client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/reservations/res_nope/accept", headers=SUP).status_code == 404
    assert client.get("/v1/reservations/res_nope", headers=OP).status_code == 404


def test_status_filter_and_cursor_pages(app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    all_ids = _ids(client)
    client.post(f"/v1/reservations/{all_ids[1]}/accept", headers=SUP)
    assert _ids(client, status="accepted") == [all_ids[1]]
    assert _ids(client, status="held") == [all_ids[0], all_ids[2]]
    assert _ids(client, status="expired") == []

    page1 = client.get("/v1/reservations", headers=SUP, params={"limit": 2}).json()
    assert [r["id"] for r in page1["items"]] == all_ids[:2] and page1["next_cursor"]
    page2 = client.get("/v1/reservations", headers=SUP,
                       params={"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [r["id"] for r in page2["items"]] == all_ids[2:] and page2["next_cursor"] is None
    assert count(app, "reservations") == 3


def test_factory_pages(client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        build_site(client, windows=0)
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/factories", headers=SUP, params=params).json()
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


def test_a_supplier_narrows_its_reservations_to_a_factory_or_an_order(
    app: FastAPI, client: TestClient, site  # type: ignore[no-untyped-def]
) -> None:
    second = build_site(client, hours=20.0, name="Beidaihe Castings")  # the same firm's
    feed(app, "ord-7", ("stp-7a", site.window_ids[0], 2.0), ("stp-7b", second.window_ids[0], 2.0))
    everything = client.get("/v1/reservations", headers=SUP).json()["items"]
    by_step = {r["step_id"]: r["id"] for r in everything}
    assert len(by_step) == 5  # three of the fixture's orders, two steps of ord-7

    assert _ids(client, factory_id=second.factory_id) == [by_step["stp-7b"]]
    assert set(_ids(client, order_id="ord-7")) == {by_step["stp-7a"], by_step["stp-7b"]}
    assert _ids(client, order_id="ord-7", factory_id=site.factory_id) == [by_step["stp-7a"]]
    assert _ids(client, order_id="ord-none") == []
    listed = client.get("/v1/reservations", headers=OP, params={"order_id": "ord-2"})
    assert [r["id"] for r in listed.json()["items"]] == [by_step["stp-2"]]


@pytest.mark.parametrize("factory", ["fac_nope", "foreign"])
def test_a_factory_filter_names_one_of_the_callers_factories(
    client: TestClient, site, factory: str  # type: ignore[no-untyped-def]
) -> None:
    if factory == "foreign":  # another firm's factory reads as unknown: 422, never its data
        factory = build_site(client, windows=0, headers=SUP2).factory_id
    response = client.get("/v1/reservations", headers=SUP, params={"factory_id": factory})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["query.factory_id"]
