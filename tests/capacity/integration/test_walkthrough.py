"""The capacity part of DESIGN §5, over HTTP, with the events it writes to the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import (
    CLUSTER,
    OP,
    SUP,
    T0,
    event_types,
    events,
    feed,
    iso,
)

pytestmark = pytest.mark.integration


def test_walkthrough(app: FastAPI, client: TestClient) -> None:
    cluster = client.post("/v1/clusters", headers=OP, json={
        "id": CLUSTER, "name": "Qinhuangdao auto parts", "lat": 39.93, "lon": 119.60,
        "max_distance_km": 60})
    assert cluster.status_code == 201
    assert cluster.json() == {"id": CLUSTER, "name": "Qinhuangdao auto parts", "lat": 39.93,
                              "lon": 119.6, "max_distance_km": 60.0}
    assert client.get(f"/v1/clusters/{CLUSTER}", headers=SUP).json()["name"] \
        == "Qinhuangdao auto parts"

    factory = client.post("/v1/factories", headers=SUP, json={
        "cluster_id": CLUSTER, "name": "Haigang Precision", "lat": 39.95, "lon": 119.58,
        "declared_tier": "advanced", "sme": True, "certifications": ["ISO9001"]})
    assert factory.status_code == 201
    f = factory.json()
    assert (f["firm_id"], f["verified_tier"], f["declared_tier"]) == ("firm-s1", None, "advanced")

    verified = client.post(f"/v1/factories/{f['id']}/tier-verification", headers=OP,
                           json={"tier": "advanced"})
    assert verified.status_code == 200
    assert verified.json()["verified_tier"] == "advanced"

    machine = client.post(f"/v1/factories/{f['id']}/machines", headers=SUP, json={
        "name": "5-axis mill", "process": "cnc_milling", "materials": ["steel", "aluminium"],
        "hourly_rate": 180.0})
    assert machine.status_code == 201
    m = machine.json()
    assert m == {"id": m["id"], "factory_id": f["id"], "name": "5-axis mill",
                 "process": "cnc_milling", "materials": ["steel", "aluminium"],
                 "hourly_rate": 180.0}

    opened = client.post(f"/v1/machines/{m['id']}/windows", headers=SUP, json={
        "start": iso(T0), "end": iso(T0 + timedelta(hours=48)), "hours": 20.0})
    assert opened.status_code == 201
    w = opened.json()
    assert (w["free_hours"], w["held_hours"], w["accepted_hours"], w["version"]) == (
        20.0, 0.0, 0.0, 0)
    assert datetime.fromisoformat(w["start"]) == T0

    proposal = feed(app, "ord-1", ("stp-1", w["id"], 6.0))

    held = client.get("/v1/reservations", headers=SUP, params={"status": "held"}).json()
    assert held["next_cursor"] is None
    [r] = held["items"]
    assert {k: r[k] for k in ("order_id", "step_id", "window_id", "factory_id", "hours", "price",
                              "status")} == {
        "order_id": "ord-1", "step_id": "stp-1", "window_id": w["id"], "factory_id": f["id"],
        "hours": 6.0, "price": 1080.0, "status": "held"}
    assert datetime.fromisoformat(r["expires_at"]) - datetime.fromisoformat(r["created_at"]) \
        == timedelta(hours=24)

    accepted = client.post(f"/v1/reservations/{r['id']}/accept", headers=SUP)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert client.get(f"/v1/reservations/{r['id']}", headers=OP).json()["status"] == "accepted"
    [after] = client.get(f"/v1/machines/{m['id']}/windows", headers=SUP).json()["items"]
    assert (after["held_hours"], after["accepted_hours"], after["free_hours"]) == (0.0, 6.0, 14.0)

    assert event_types(app) == [
        "cluster.created", "factory.registered", "factory.updated", "machine.added",
        "window.opened", "reservation.held", "reservation.accepted"]
    [held_event] = events(app, "reservation.held")
    assert (held_event.key, held_event.correlation_id, held_event.causation_id) == (
        CLUSTER, "ord-1", str(proposal.event_id))
    [done] = events(app, "reservation.accepted")
    assert done.payload["factory_id"] == f["id"]
    assert done.payload["factory_name"] == "Haigang Precision"
    assert done.payload["reservation_id"] == r["id"]
    assert all(e.producer == "capacity" and e.key == CLUSTER for e in events(app))
