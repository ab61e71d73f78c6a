"""Roles and ownership: other firms' objects are 404, wrong roles 403, no token 401."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import (
    BUY,
    CLUSTER,
    OP,
    PROBLEM,
    SUP,
    SUP2,
    build_site,
    count,
    create_cluster,
    events,
    feed,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(app: FastAPI, client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    site = build_site(client)
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    return site


def _reservation_id(client: TestClient) -> str:
    return client.get("/v1/reservations", headers=SUP).json()["items"][0]["id"]


def test_another_supplier_gets_404_for_every_object(app: FastAPI, client: TestClient,
                                                    site) -> None:  # type: ignore[no-untyped-def]
    rid = _reservation_id(client)
    wid = site.window_ids[0]
    outbox_before = len(events(app))
    window_before = client.get(f"/v1/windows/{wid}", headers=SUP).json()
    calls = [
        ("GET", f"/v1/factories/{site.factory_id}", None),
        ("GET", f"/v1/factories/{site.factory_id}/machines", None),
        ("POST", f"/v1/factories/{site.factory_id}/machines",
         {"name": "x", "process": "welding", "materials": [], "hourly_rate": 1.0}),
        ("GET", f"/v1/machines/{site.machine_id}", None),
        ("GET", f"/v1/machines/{site.machine_id}/windows", None),
        ("POST", f"/v1/machines/{site.machine_id}/windows",
         {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z", "hours": 5}),
        ("GET", f"/v1/windows/{wid}", None),
        ("PATCH", f"/v1/windows/{wid}", {"hours": 40.0}),
        ("DELETE", f"/v1/windows/{wid}", None),
        ("GET", f"/v1/reservations/{rid}", None),
        ("POST", f"/v1/reservations/{rid}/accept", None),
        ("POST", f"/v1/reservations/{rid}/decline", {"reason": "mine now"}),
    ]
    for method, path, body in calls:
        response = client.request(method, path, headers=SUP2, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
        for secret in ("Haigang", "firm-s1", "180.0", "ISO9001"):
            assert secret not in response.text, (method, path, response.text)
    assert len(events(app)) == outbox_before
    assert count(app, "machines") == 1 and count(app, "windows") == 1
    assert client.get(f"/v1/reservations/{rid}", headers=SUP).json()["status"] == "held"
    assert client.get(f"/v1/windows/{wid}", headers=SUP).json() == window_before


def test_an_unknown_id_reads_like_another_firms_id(client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    """The 404 of a foreign object says nothing an unknown id would not say."""
    for kind, foreign in (("factories", site.factory_id), ("machines", site.machine_id),
                          ("windows", site.window_ids[0])):
        unknown = client.get(f"/v1/{kind}/nope", headers=SUP2).json()
        other = client.get(f"/v1/{kind}/{foreign}", headers=SUP2).json()
        assert other["detail"].replace(foreign, "nope") == unknown["detail"]
        assert other.keys() == unknown.keys()


def test_buyers_cannot_touch_factories_machines_or_windows(
    app: FastAPI, client: TestClient, site  # type: ignore[no-untyped-def]
) -> None:
    wid, rid = site.window_ids[0], _reservation_id(client)
    outbox_before = len(events(app))
    calls = [
        ("GET", f"/v1/factories/{site.factory_id}", None),
        ("GET", f"/v1/factories/{site.factory_id}/machines", None),
        ("GET", f"/v1/machines/{site.machine_id}", None),
        ("GET", f"/v1/machines/{site.machine_id}/windows", None),
        ("POST", f"/v1/machines/{site.machine_id}/windows",
         {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z", "hours": 5}),
        ("GET", f"/v1/windows/{wid}", None),
        ("PATCH", f"/v1/windows/{wid}", {"hours": 40.0}),
        ("DELETE", f"/v1/windows/{wid}", None),
        ("GET", f"/v1/reservations/{rid}", None),
        ("POST", f"/v1/reservations/{rid}/accept", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, headers=BUY, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
    import_ = client.post("/v1/windows:import", headers=BUY | {"Content-Type": "text/csv"},
                          content=f"machine_id,start,end,hours\n{site.machine_id},"
                                  "2030-01-01T00:00:00Z,2030-01-02T00:00:00Z,5\n")
    assert import_.status_code == 403
    assert len(events(app)) == outbox_before and count(app, "windows") == 1


def test_the_operator_reads_windows_but_does_not_change_them(
    app: FastAPI, client: TestClient, site  # type: ignore[no-untyped-def]
) -> None:
    wid = site.window_ids[0]
    assert client.get(f"/v1/windows/{wid}", headers=OP).status_code == 200
    assert client.get(f"/v1/machines/{site.machine_id}", headers=OP).status_code == 200
    assert client.patch(f"/v1/windows/{wid}", headers=OP, json={"hours": 40}).status_code == 403
    assert client.delete(f"/v1/windows/{wid}", headers=OP).status_code == 403
    assert events(app, "window.updated") == [] and events(app, "window.closed") == []


def test_lists_show_only_the_callers_objects(client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    build_site(client, headers=SUP2)
    own = client.get("/v1/factories", headers=SUP).json()["items"]
    assert [f["id"] for f in own] == [site.factory_id]
    assert len(client.get("/v1/factories", headers=SUP2).json()["items"]) == 1
    assert len(client.get("/v1/factories", headers=OP).json()["items"]) == 2
    assert client.get("/v1/reservations", headers=SUP2).json()["items"] == []
    assert len(client.get("/v1/reservations", headers=OP).json()["items"]) == 1


def test_operator_sees_any_factory_but_cannot_act_for_the_supplier(
    client: TestClient, site  # type: ignore[no-untyped-def]
) -> None:
    assert client.get(f"/v1/factories/{site.factory_id}", headers=OP).status_code == 200
    assert client.get(f"/v1/machines/{site.machine_id}/windows", headers=OP).status_code == 200
    rid = _reservation_id(client)
    assert client.post(f"/v1/reservations/{rid}/accept", headers=OP).status_code == 403


@pytest.mark.parametrize(("method", "path", "headers", "body"), [
    ("POST", "/v1/clusters", SUP,
     {"id": "new-cluster", "name": "N", "lat": 1, "lon": 1, "max_distance_km": 10}),
    ("POST", "/v1/factories", BUY,
     {"cluster_id": CLUSTER, "name": "F", "lat": 1, "lon": 1, "declared_tier": "basic",
      "sme": False, "certifications": []}),
    ("POST", "/v1/factories", OP,
     {"cluster_id": CLUSTER, "name": "F", "lat": 1, "lon": 1, "declared_tier": "basic",
      "sme": False, "certifications": []}),
    ("GET", "/v1/factories", BUY, None),
    ("GET", "/v1/reservations", BUY, None),
    ("GET", f"/v1/availability?cluster={CLUSTER}", SUP, None),
])
def test_wrong_roles_get_403(app: FastAPI, client: TestClient, method: str, path: str,
                             headers: dict, body: dict | None) -> None:
    create_cluster(client)
    response = client.request(method, path, headers=headers, json=body)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM
    assert count(app, "clusters") == 1 and count(app, "factories") == 0
    assert [e.type for e in events(app)] == ["cluster.created"]


def test_tier_verification_is_for_the_operator(app: FastAPI, client: TestClient,
                                               site) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/v1/factories/{site.factory_id}/tier-verification", headers=SUP,
                           json={"tier": "leading"})
    assert response.status_code == 403
    assert client.get(f"/v1/factories/{site.factory_id}", headers=SUP).json()[
        "verified_tier"] is None
    assert events(app, "factory.updated") == []


def test_no_token_is_401(client: TestClient) -> None:
    response = client.get("/v1/clusters")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert client.get("/v1/clusters", headers={"Authorization": "Bearer x.y.z"}).status_code \
        == 401


def test_any_role_reads_clusters(client: TestClient) -> None:
    create_cluster(client)
    for headers in (OP, SUP, BUY):
        assert [c["id"] for c in client.get("/v1/clusters", headers=headers).json()["items"]] \
            == [CLUSTER]
    assert client.get("/v1/clusters/nowhere", headers=BUY).status_code == 404
