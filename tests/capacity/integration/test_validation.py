"""Invalid requests: 422/409 problem documents naming the fields; nothing stored, no event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import (
    CLUSTER,
    OP,
    PROBLEM,
    SUP,
    T0,
    build_site,
    count,
    create_cluster,
    event_types,
    iso,
)
from tests.helpers import bearer

pytestmark = pytest.mark.integration

FACTORY = {"cluster_id": CLUSTER, "name": "F", "lat": 39.9, "lon": 119.6,
           "declared_tier": "basic", "sme": False, "certifications": []}


def _fields(response) -> set[str]:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == PROBLEM, response.text
    body = response.json()
    assert body["status"] == response.status_code
    return {e["field"] for e in body.get("errors", [])}


@pytest.mark.parametrize(("body", "fields"), [
    ({"id": "Bad_Slug", "name": "x", "lat": 1, "lon": 1}, {"body.id"}),
    ({"id": "a", "name": "x", "lat": 1, "lon": 1}, {"body.id"}),
    ({"id": "ok-id", "name": "x", "lat": 91, "lon": -181}, {"body.lat", "body.lon"}),
    ({"id": "ok-id", "name": "x", "lat": 1, "lon": 1, "max_distance_km": 0},
     {"body.max_distance_km"}),
    ({"id": "ok-id", "name": "x", "lat": 1, "lon": 1, "max_distance_km": 501},
     {"body.max_distance_km"}),
    ({"id": "ok-id", "lat": 1, "lon": 1}, {"body.name"}),
])
def test_invalid_clusters(app: FastAPI, client: TestClient, body: dict, fields: set) -> None:
    response = client.post("/v1/clusters", headers=OP, json=body)
    assert response.status_code == 422
    assert _fields(response) == fields
    assert count(app, "clusters") == 0 and count(app, "outbox") == 0


def test_cluster_max_distance_defaults_to_60(client: TestClient) -> None:
    response = client.post("/v1/clusters", headers=OP,
                           json={"id": "ab", "name": "x", "lat": 0, "lon": 0})
    assert response.json()["max_distance_km"] == 60.0


def test_duplicate_cluster_is_409(app: FastAPI, client: TestClient) -> None:
    create_cluster(client)
    response = client.post("/v1/clusters", headers=OP, json={
        "id": CLUSTER, "name": "again", "lat": 0, "lon": 0})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert count(app, "clusters") == 1 and event_types(app) == ["cluster.created"]


@pytest.mark.parametrize(("change", "headers", "fields"), [
    ({"cluster_id": "nowhere"}, SUP, {"body.cluster_id"}),
    ({"cluster_id": "other"}, SUP, {"body.cluster_id"}),
    ({"cluster_id": CLUSTER}, bearer("firm-s1", "supplier"), {"body.cluster_id"}),
    ({"declared_tier": "golden"}, SUP, {"body.declared_tier"}),
    ({"lat": -100}, SUP, {"body.lat"}),
    ({"firm_id": "firm-evil"}, SUP, {"body.firm_id"}),
    ({"verified_tier": "leading"}, SUP, {"body.verified_tier"}),
])
def test_invalid_factories(app: FastAPI, client: TestClient, change: dict, headers: dict,
                           fields: set) -> None:
    create_cluster(client)
    create_cluster(client, "other")
    response = client.post("/v1/factories", headers=headers, json=FACTORY | change)
    assert response.status_code == 422
    assert _fields(response) == fields
    assert count(app, "factories") == 0
    assert event_types(app) == ["cluster.created", "cluster.created"]


@pytest.mark.parametrize(("change", "fields"), [
    ({"process": "alchemy"}, {"body.process"}),
    ({"hourly_rate": 0}, {"body.hourly_rate"}),
    ({"hourly_rate": -5, "process": "x"}, {"body.hourly_rate", "body.process"}),
    ({"factory_id": "fac_x"}, {"body.factory_id"}),
])
def test_invalid_machines(app: FastAPI, client: TestClient, change: dict, fields: set) -> None:
    create_cluster(client)
    site = build_site(client, windows=0)
    before = event_types(app)
    body = {"name": "m", "process": "welding", "materials": [], "hourly_rate": 10.0} | change
    response = client.post(f"/v1/factories/{site.factory_id}/machines", headers=SUP, json=body)
    assert response.status_code == 422
    assert _fields(response) == fields
    assert count(app, "machines") == 1 and event_types(app) == before


@pytest.mark.parametrize(("start_h", "end_h", "hours", "field"), [
    (10, 10, 1.0, "body.end"),
    (10, 5, 1.0, "body.end"),
    (0, 10, 10.5, "body.hours"),
    (0, 10, 0, "body.hours"),
    (-72, -30, 1.0, "body.end"),  # ended yesterday: offers nothing (T0 is tomorrow)
])
def test_invalid_windows(app: FastAPI, client: TestClient, start_h: int, end_h: int,
                         hours: float, field: str) -> None:
    create_cluster(client)
    site = build_site(client, windows=0)
    before = event_types(app)
    response = client.post(f"/v1/machines/{site.machine_id}/windows", headers=SUP, json={
        "start": iso(T0 + timedelta(hours=start_h)), "end": iso(T0 + timedelta(hours=end_h)),
        "hours": hours})
    assert response.status_code == 422
    assert _fields(response) == {field}
    assert count(app, "windows") == 0 and event_types(app) == before


def test_a_window_that_has_begun_offers_what_is_left(client: TestClient) -> None:
    create_cluster(client)
    site = build_site(client, windows=0)
    response = client.post(f"/v1/machines/{site.machine_id}/windows", headers=SUP, json={
        "start": iso(T0 - timedelta(hours=30)), "end": iso(T0), "hours": 5})
    assert response.status_code == 201, response.text


def test_windows_need_time_zones(app: FastAPI, client: TestClient) -> None:
    create_cluster(client)
    site = build_site(client, windows=0)
    response = client.post(f"/v1/machines/{site.machine_id}/windows", headers=SUP, json={
        "start": "2030-01-01T08:00:00", "end": "2030-01-02T08:00:00", "hours": 5})
    assert response.status_code == 422
    assert _fields(response) == {"body.start", "body.end"}
    assert count(app, "windows") == 0


def test_window_times_are_stored_in_utc(client: TestClient) -> None:
    create_cluster(client)
    site = build_site(client, windows=0)
    response = client.post(f"/v1/machines/{site.machine_id}/windows", headers=SUP, json={
        "start": "2030-01-01T16:00:00+08:00", "end": "2030-01-02T16:00:00+08:00", "hours": 5})
    assert response.status_code == 201
    listed = client.get(f"/v1/machines/{site.machine_id}/windows", headers=SUP).json()
    assert listed["items"][0]["start"] in ("2030-01-01T08:00:00Z", "2030-01-01T08:00:00+00:00")


def test_overlapping_window_is_409(app: FastAPI, client: TestClient) -> None:
    create_cluster(client)
    site = build_site(client)
    before = event_types(app)
    response = client.post(f"/v1/machines/{site.machine_id}/windows", headers=SUP, json={
        "start": iso(T0 + timedelta(hours=47)), "end": iso(T0 + timedelta(hours=50)),
        "hours": 1})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert count(app, "windows") == 1 and event_types(app) == before
    adjacent = client.post(f"/v1/machines/{site.machine_id}/windows", headers=SUP, json={
        "start": iso(T0 + timedelta(hours=48)), "end": iso(T0 + timedelta(hours=50)),
        "hours": 1})
    assert adjacent.status_code == 201


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "lost"}, "query.status"), ({"limit": 0}, "query.limit"),
    ({"limit": 201}, "query.limit"),
])
def test_invalid_list_queries(client: TestClient, params: dict, field: str) -> None:
    response = client.get("/v1/reservations", headers=SUP, params=params)
    assert response.status_code == 422
    assert _fields(response) == {field}
