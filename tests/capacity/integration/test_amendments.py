"""PATCH /v1/factories/{id} and PATCH /v1/machines/{id} over HTTP and a real database: what a
supplier may change, the events and audit entries written, and the refusals (each a problem
document that changes nothing)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.capacity.integration.flows import (
    BUY,
    OP,
    PROBLEM,
    SUP,
    SUP2,
    build_site,
    create_cluster,
    event_types,
    events,
    feed,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    return build_site(client)


def test_a_supplier_adds_a_certification_and_moves_its_factory(
        client: TestClient, app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    response = client.patch(f"/v1/factories/{site.factory_id}", headers=SUP, json={
        "certifications": ["ISO9001", "IATF16949"], "lat": 39.96, "lon": 119.57})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["certifications"], body["lat"], body["lon"], body["name"]) == (
        ["ISO9001", "IATF16949"], 39.96, 119.57, "Haigang Precision")
    assert client.get(f"/v1/factories/{site.factory_id}", headers=SUP).json() == body
    updated = events(app, "factory.updated")
    assert len(updated) == 1
    assert updated[0].payload["certifications"] == ["ISO9001", "IATF16949"]
    assert updated[0].payload["lat"] == 39.96
    entries = client.get("/v1/audit", headers=OP, params={"action": "factory.updated"}).json()
    assert [(e["actor"], e["object_id"], e["detail"]) for e in entries["items"]] == [
        ("firm-s1", site.factory_id,
         {"lat": 39.96, "lon": 119.57, "certifications": ["ISO9001", "IATF16949"]})]


def test_a_higher_tier_claim_joins_the_operators_queue_until_verified(
        client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    path = f"/v1/factories/{site.factory_id}"
    assert client.post(f"{path}/tier-verification", headers=OP,
                       json={"tier": "advanced"}).status_code == 200
    queue = client.get("/v1/factories", headers=OP, params={"verified": "false"}).json()
    assert queue["items"] == []
    claimed = client.patch(path, headers=SUP, json={"declared_tier": "excellent"}).json()
    assert (claimed["declared_tier"], claimed["verified_tier"],
            claimed["tier_verification_pending"]) == ("excellent", "advanced", True)
    queue = client.get("/v1/factories", headers=OP, params={"verified": "false"}).json()
    assert [f["id"] for f in queue["items"]] == [site.factory_id]
    verified = client.post(f"{path}/tier-verification", headers=OP,
                           json={"tier": "excellent"}).json()
    assert (verified["verified_tier"], verified["tier_verification_pending"]) == (
        "excellent", False)
    assert client.get("/v1/factories", headers=OP,
                      params={"verified": "false"}).json()["items"] == []


def test_a_supplier_changes_its_machines_rate_and_held_hours_keep_their_price(
        client: TestClient, app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    held = client.get("/v1/reservations", headers=SUP).json()["items"]
    response = client.patch(f"/v1/machines/{site.machine_id}", headers=SUP, json={
        "hourly_rate": 150.0, "materials": ["steel", "aluminium", "titanium"]})
    assert response.status_code == 200, response.text
    assert (response.json()["hourly_rate"], response.json()["materials"]) == (
        150.0, ["steel", "aluminium", "titanium"])
    assert client.get(f"/v1/machines/{site.machine_id}", headers=SUP).json() == response.json()
    (updated,) = events(app, "machine.updated")
    assert (updated.payload["hourly_rate"], updated.payload["process"]) == (150.0, "cnc_milling")
    assert client.get("/v1/reservations", headers=SUP).json()["items"] == held  # 6 h × 180


def test_the_documented_schemas_offer_only_what_may_change(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert sorted(schemas["FactoryUpdate"]["properties"]) == [
        "certifications", "declared_tier", "lat", "lon", "name", "sme"]
    assert sorted(schemas["MachineUpdate"]["properties"]) == [
        "hourly_rate", "materials", "name"]


def test_a_patch_that_changes_nothing_writes_no_event(
        client: TestClient, app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    before = event_types(app)
    assert client.patch(f"/v1/factories/{site.factory_id}", headers=SUP,
                        json={"sme": True}).status_code == 200
    assert client.patch(f"/v1/machines/{site.machine_id}", headers=SUP,
                        json={"hourly_rate": 180.0}).status_code == 200
    assert event_types(app) == before


@pytest.mark.parametrize(("target", "body", "field", "says"), [
    ("factory", {}, "body", "give at least one of name, lat, lon, sme, certifications, "
     "declared_tier"),
    ("factory", {"name": None}, "body", "give at least one of"),
    ("factory", {"cluster_id": "tangshan"}, "body.cluster_id", "stays in its cluster"),
    ("factory", {"verified_tier": "leading"}, "body.verified_tier",
     "only the operator verifies tiers"),
    ("factory", {"firm_id": "firm-s2"}, "body.firm_id", "Extra inputs"),
    ("factory", {"declared_tier": "platinum"}, "body.declared_tier", "'basic'"),
    ("factory", {"lat": 91}, "body.lat", "less than or equal to 90"),
    ("factory", {"certifications": [""]}, "body.certifications.0", "at least 1 character"),
    ("machine", {}, "body", "give at least one of name, materials, hourly_rate"),
    ("machine", {"process": "grinding"}, "body.process", "process does not change"),
    ("machine", {"factory_id": "fac-x", "name": "m"}, "body.factory_id", "stays in its factory"),
    ("machine", {"hourly_rate": 0}, "body.hourly_rate", "greater than 0"),
    ("machine", {"materials": ["x" * 101]}, "body.materials.0", "at most 100 characters"),
])
def test_bad_changes_are_422_naming_the_field_and_change_nothing(
        client: TestClient, app: FastAPI, site, target: str, body: dict,  # type: ignore[no-untyped-def]
        field: str, says: str) -> None:
    path = (f"/v1/factories/{site.factory_id}" if target == "factory"
            else f"/v1/machines/{site.machine_id}")
    before, kept = event_types(app), client.get(path, headers=SUP).json()
    response = client.patch(path, headers=SUP, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert says in response.json()["errors"][0]["message"]
    assert client.get(path, headers=SUP).json() == kept
    assert event_types(app) == before


@pytest.mark.parametrize(("headers", "status"), [(SUP2, 404), (OP, 403), (BUY, 403)])
def test_only_the_owner_changes_its_factory_and_machines(
        client: TestClient, app: FastAPI, site, headers: dict,  # type: ignore[no-untyped-def]
        status: int) -> None:
    before = event_types(app)
    for path in (f"/v1/factories/{site.factory_id}", f"/v1/machines/{site.machine_id}"):
        response = client.patch(path, headers=headers, json={"name": "taken over"})
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM
    assert event_types(app) == before
