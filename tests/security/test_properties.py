"""API3 property-level authorisation: what a buyer reads before acceptance names no supplier,
and no request body can set a field the server owns (firm, verified tier, status, ids, …)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.events.payloads import ClusterCreated
from tests.capacity.integration import flows
from tests.helpers import bearer
from tests.matcher import events as me
from tests.orders.integration import support
from tests.security.conftest import CLUSTER, SUPPLIER_SECRETS, World
from tests.security.test_object_access import _state

pytestmark = pytest.mark.integration

BUYER = bearer("firm-b1", "buyer", CLUSTER)


def _secrets(world: World) -> tuple[str, ...]:
    return (*SUPPLIER_SECRETS, world.factory_id, world.machine_id, world.window_id,
            world.reservation_id, "fac-1", "mch-1", "win-1", "5-axis mill")


def test_a_buyer_reads_no_supplier_identity_before_acceptance(
    clients: dict[str, TestClient], world: World
) -> None:
    orders, capacity, matcher = clients["orders"], clients["capacity"], clients["matcher"]
    # Availability with a bucket of 3 factories (3 suppliers), so figures are shown.
    for firm in ("firm-s2", "firm-s3"):
        flows.build_site(capacity, headers=bearer(firm, "supplier", CLUSTER), name=f"{firm} works")
    # An order the matcher cannot place (tier), so its explanation has a nearest miss.
    t0 = me.default_t0()
    matcher.app.state.event_handler(*me.envelope(me.order_submitted(
        t0, "ord-2", step_ids=("stp-2",), min_tier="leading")))
    assert matcher.post("/v1/match-runs", json={"cluster_id": CLUSTER},
                        headers=flows.OP).status_code == 201
    reads = {
        "order": orders.get(f"/v1/orders/{world.order_id}", headers=BUYER),
        "orders": orders.get("/v1/orders", headers=BUYER),
        "timeline": orders.get(f"/v1/orders/{world.order_id}/timeline", headers=BUYER),
        "availability": capacity.get(f"/v1/availability?cluster={CLUSTER}", headers=BUYER),
        "clusters": capacity.get("/v1/clusters", headers=BUYER),
        "explanation (placed)": matcher.get("/v1/steps/stp-1/explanation", headers=BUYER),
        "explanation (unplaced)": matcher.get("/v1/steps/stp-2/explanation", headers=BUYER),
    }
    for name, response in reads.items():
        assert response.status_code == 200, (name, response.text)
        for secret in _secrets(world) + ("firm-s2", "firm-s3"):
            assert secret not in response.text, (name, secret, response.text)
    step = reads["order"].json()["steps"][0]
    assert step["status"] == "held" and step["allocation"]["price"] > 0
    assert reads["availability"].json()["items"], "the 3-factory bucket is shown"
    assert reads["explanation (unplaced)"].json()["nearest_miss"]
    for path in ("/v1/match-runs", f"/v1/match-runs/{world.run_id}"):  # runs name windows
        assert matcher.get(path, headers=BUYER).status_code == 403


def test_a_buyer_cannot_place_a_factory_on_the_map_from_an_explanation(
    clients: dict[str, TestClient], world: World
) -> None:
    """A nearest miss by distance: the operator reads the factory's distance to 0.1 km, the
    buyer only a bound rounded up to 5 km (exact distances from delivery points the buyer
    chooses would locate the factory)."""
    matcher = clients["matcher"]
    matcher.app.state.event_handler(*me.envelope(me.order_submitted(
        me.default_t0(), "ord-3", step_ids=("stp-3",), max_distance_km=1)))
    assert matcher.post("/v1/match-runs", json={"cluster_id": CLUSTER},
                        headers=flows.OP).status_code == 201
    told = matcher.get("/v1/steps/stp-3/explanation", headers=BUYER).json()
    exact = matcher.get("/v1/steps/stp-3/explanation", headers=flows.OP).json()
    assert told["reason"] == exact["reason"] == "outside_distance"
    assert told["nearest_miss"] == "distance: a factory within 5 km of delivery (limit 1 km)"
    assert re.fullmatch(r"distance: factory is 2\.\d km from delivery \(limit 1 km\)",
                        exact["nearest_miss"]), exact
    assert told["funnel"] == exact["funnel"]


def test_after_acceptance_the_buyer_learns_the_factory(clients: dict[str, TestClient],
                                                       world: World) -> None:
    """The control of the test above: the identity does show once the supplier accepted."""
    orders = clients["orders"]
    support.feed(orders.app, support.accepted(world.order_id, world.step_id).model_copy(
        update={"factory_id": world.factory_id}))
    step = orders.get(f"/v1/orders/{world.order_id}", headers=BUYER).json()["steps"][0]
    assert (step["allocation"]["factory_id"], step["allocation"]["factory_name"]) == (
        world.factory_id, "Haigang Precision")


# --- mass assignment --------------------------------------------------------------------------
def _closed(schema: dict[str, Any], components: dict[str, Any], seen: set[str],
            where: str) -> list[str]:
    """Paths inside a request schema where an object accepts properties it does not name."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _closed(components[name], components, seen, name)
    open_ = []
    if schema.get("type") == "object" and "properties" in schema \
            and schema.get("additionalProperties") is not False:
        open_.append(where)
    for key in ("properties",):
        for prop, sub in schema.get(key, {}).items():
            open_ += _closed(sub, components, seen, f"{where}.{prop}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            open_ += _closed(schema[key], components, seen, f"{where}[]")
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            open_ += _closed(sub, components, seen, where)
    return open_


def test_every_json_request_body_refuses_unknown_fields(clients: dict[str, TestClient]) -> None:
    """Read from the three OpenAPI documents: every JSON body object is closed
    (``additionalProperties: false``), so a new request schema has to be too."""
    checked, open_ = 0, []
    for service, client in clients.items():
        doc = client.get("/openapi.json").json()
        components = doc.get("components", {}).get("schemas", {})
        for path, operations in doc["paths"].items():
            for method, op in operations.items():
                body = op.get("requestBody", {}).get("content", {}).get("application/json")
                if body:
                    checked += 1
                    open_ += [f"{service} {method.upper()} {path}: {w}"
                              for w in _closed(body["schema"], components, set(), "body")]
    assert open_ == []
    assert checked >= 10


def _order(**extra: Any) -> dict[str, Any]:
    body = support.order_body()
    del body["steps"][1]
    return {**body, **extra}


WINDOW = {"start": "2031-01-01T00:00:00Z", "end": "2031-01-02T00:00:00Z", "hours": 5}
FACTORY = {"cluster_id": CLUSTER, "name": "F", "lat": 39.9, "lon": 119.6,
           "declared_tier": "basic", "sme": False, "certifications": []}
MACHINE = {"name": "x", "process": "welding", "materials": [], "hourly_rate": 1.0}
# (service, method, path, headers, body with a server-owned field) — every create/update route
MASS_ASSIGNMENT = [
    ("orders", "POST", "/v1/orders", BUYER, _order(buyer_firm_id="firm-b2")),
    ("orders", "POST", "/v1/orders", BUYER, _order(status="allocated")),
    ("orders", "POST", "/v1/orders", BUYER, _order(id="ord_mine")),
    ("orders", "POST", "/v1/orders", BUYER,
     _order(steps=[{**support.order_body()["steps"][0], "status": "accepted"}])),
    ("orders", "POST", "/v1/orders", BUYER,
     _order(steps=[{**support.order_body()["steps"][0], "allocation": {"factory_id": "f"}}])),
    ("orders", "POST", "/v1/orders/{order_id}/cancel", BUYER, {"status": "completed"}),
    ("capacity", "POST", "/v1/clusters", flows.OP,
     {"id": "new-one", "name": "N", "lat": 1, "lon": 1, "created_by": "someone"}),
    ("capacity", "POST", "/v1/factories", flows.SUP, {**FACTORY, "verified_tier": "leading"}),
    ("capacity", "POST", "/v1/factories", flows.SUP, {**FACTORY, "firm_id": "firm-s2"}),
    ("capacity", "POST", "/v1/factories/{factory_id}/tier-verification", flows.OP,
     {"tier": "advanced", "firm_id": "platform"}),
    ("capacity", "POST", "/v1/factories/{factory_id}/machines", flows.SUP,
     {**MACHINE, "factory_id": "fac_other"}),
    ("capacity", "POST", "/v1/machines/{machine_id}/windows", flows.SUP,
     {**WINDOW, "held_hours": 0, "machine_id": "mac_other"}),
    ("capacity", "PATCH", "/v1/windows/{window_id}", flows.SUP, {"hours": 30, "version": 0}),
    ("capacity", "PATCH", "/v1/windows/{window_id}", flows.SUP, {"accepted_hours": 0}),
    ("capacity", "POST", "/v1/reservations/{reservation_id}/decline", flows.SUP,
     {"reason": "no", "status": "accepted"}),
    ("matcher", "POST", "/v1/match-runs", flows.OP, {"cluster_id": CLUSTER, "status": "done"}),
]


def test_server_owned_fields_in_a_body_are_refused_and_change_nothing(
    clients: dict[str, TestClient], world: World
) -> None:
    ids = {"order_id": world.order_id, "factory_id": world.factory_id,
           "machine_id": world.machine_id, "window_id": world.window_id,
           "reservation_id": world.reservation_id}
    before = {name: _state(c.app) for name, c in clients.items()}
    for service, method, path, headers, body in MASS_ASSIGNMENT:
        response = clients[service].request(method, path.format(**ids), headers=headers,
                                            json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert any(e["type"] == "extra_forbidden" for e in response.json()["errors"]), \
            response.text
    assert {name: _state(c.app) for name, c in clients.items()} == before


def test_a_batch_item_with_a_server_owned_field_is_refused_alone(
    clients: dict[str, TestClient], world: World
) -> None:
    response = clients["orders"].post("/v1/orders:batch", headers=BUYER, json={
        "orders": [_order(), _order(status="allocated", buyer_firm_id="firm-b2")]})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert (response.json()["accepted"], response.json()["rejected"]) == (1, 1)
    assert {e["field"] for e in items[1]["problem"]["errors"]} == {
        "orders.1.status", "orders.1.buyer_firm_id"}
    mine = clients["orders"].get(f"/v1/orders/{items[0]['id']}", headers=BUYER).json()
    assert (mine["buyer_firm_id"], mine["status"]) == ("firm-b1", "submitted")


def test_the_orders_service_learns_clusters_only_from_events(clients: dict[str, TestClient],
                                                             world: World) -> None:
    """A buyer cannot smuggle a cluster in: unknown clusters are refused (422)."""
    response = clients["orders"].post("/v1/orders", headers=bearer(
        "firm-b1", "buyer", CLUSTER, "made-up"), json=_order(cluster_id="made-up"))
    assert response.status_code == 422, response.text
    support.feed(clients["orders"].app, ClusterCreated(cluster_id="made-up", name="M", lat=1,
                                                       lon=1, max_distance_km=10))
    assert clients["orders"].post("/v1/orders", headers=bearer(
        "firm-b1", "buyer", CLUSTER, "made-up"), json=_order(cluster_id="made-up")
    ).status_code == 201
