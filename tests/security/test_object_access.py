"""API1 object-level authorisation: on every route with an object id, in all three services,
another firm of an allowed role gets 404 — the same answer as an unknown id — and changes nothing.

The id-bearing routes are read from the apps: a new one without a line in CALLS fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth import Role
from shared.messaging.tables import outbox
from tests.helpers import bearer
from tests.security.conftest import CLUSTER, SUPPLIER_SECRETS, World
from tests.security.routes import endpoints

pytestmark = pytest.mark.integration

OTHER = {Role.BUYER: bearer("firm-b2", "buyer", CLUSTER),
         Role.SUPPLIER: bearer("firm-s2", "supplier", CLUSTER)}
WINDOW = {"start": "2031-01-01T00:00:00Z", "end": "2031-01-02T00:00:00Z", "hours": 5}
MACHINE = {"name": "x", "process": "welding", "materials": [], "hourly_rate": 1.0}

# service → route → (path ids from the world, request body)
CALLS: dict[str, dict[str, tuple[dict[str, str], Any]]] = {
    "orders": {
        "GET /v1/orders/{order_id}": ({"order_id": "order_id"}, None),
        "GET /v1/orders/{order_id}/timeline": ({"order_id": "order_id"}, None),
        "POST /v1/orders/{order_id}/cancel": ({"order_id": "order_id"}, {"reason": "mine"}),
        "POST /v1/orders/{order_id}/revise": ({"order_id": "order_id"}, {"priority": 1}),
    },
    "capacity": {
        "GET /v1/factories/{factory_id}": ({"factory_id": "factory_id"}, None),
        "PATCH /v1/factories/{factory_id}": ({"factory_id": "factory_id"}, {"name": "mine"}),
        "DELETE /v1/factories/{factory_id}": ({"factory_id": "factory_id"}, None),
        "GET /v1/factories/{factory_id}/machines": ({"factory_id": "factory_id"}, None),
        "POST /v1/factories/{factory_id}/machines": ({"factory_id": "factory_id"}, MACHINE),
        "GET /v1/machines/{machine_id}": ({"machine_id": "machine_id"}, None),
        "PATCH /v1/machines/{machine_id}": ({"machine_id": "machine_id"}, {"hourly_rate": 1.0}),
        "DELETE /v1/machines/{machine_id}": ({"machine_id": "machine_id"}, None),
        "GET /v1/machines/{machine_id}/windows": ({"machine_id": "machine_id"}, None),
        "POST /v1/machines/{machine_id}/windows": ({"machine_id": "machine_id"}, WINDOW),
        "GET /v1/windows/{window_id}": ({"window_id": "window_id"}, None),
        "PATCH /v1/windows/{window_id}": ({"window_id": "window_id"}, {"hours": 40.0}),
        "DELETE /v1/windows/{window_id}": ({"window_id": "window_id"}, None),
        "GET /v1/reservations/{reservation_id}": ({"reservation_id": "reservation_id"}, None),
        "POST /v1/reservations/{reservation_id}/accept": (
            {"reservation_id": "reservation_id"}, None),
        "POST /v1/reservations/{reservation_id}/decline": (
            {"reservation_id": "reservation_id"}, {"reason": "mine now"}),
        "POST /v1/reservations/{reservation_id}/start": (
            {"reservation_id": "reservation_id"}, None),
        "POST /v1/reservations/{reservation_id}/complete": (
            {"reservation_id": "reservation_id"}, None),
    },
    "matcher": {
        "GET /v1/steps/{step_id}/explanation": ({"step_id": "matcher_step_id"}, None),
    },
}
# Id-bearing routes no firm owns: what they name is the platform's (clusters are public to
# every signed-in firm; match runs, their replay and tier verification are the operator's).
NOT_FIRM_OWNED = {
    "capacity": {"GET /v1/clusters/{cluster_id}",
                 "POST /v1/factories/{factory_id}/tier-verification"},
    "orders": set(),
    "matcher": {"GET /v1/match-runs/{run_id}", "POST /v1/match-runs/{run_id}/replay"},
}


@pytest.mark.parametrize("service", ["orders", "capacity", "matcher"])
def test_every_route_with_an_id_is_checked(clients: dict[str, TestClient], service: str) -> None:
    with_id = {e for e in endpoints(clients[service].app) if e.has_id}
    assert {str(e) for e in with_id} == set(CALLS[service]) | NOT_FIRM_OWNED[service]
    for endpoint in with_id:  # the platform's routes are the operator's only
        if str(endpoint) in NOT_FIRM_OWNED[service] and endpoint.method != "GET":
            assert endpoint.roles == {Role.OPERATOR}, str(endpoint)


@pytest.mark.parametrize("service", ["orders", "capacity", "matcher"])
def test_another_firms_id_is_404_and_changes_nothing(
    clients: dict[str, TestClient], world: World, service: str
) -> None:
    client = clients[service]
    roles = {str(e): e.roles for e in endpoints(client.app)}
    before = _state(client.app)
    tried = 0
    for route, (ids, body) in CALLS[service].items():
        method, template = route.split(" ")
        path = template.format(**{k: getattr(world, v) for k, v in ids.items()})
        unknown = template.format(**{k: "nope" for k in ids})
        for role in roles[route] - {Role.OPERATOR}:
            response = client.request(method, path, headers=OTHER[role], json=body)
            assert response.status_code == 404, (route, role, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            for secret in (*SUPPLIER_SECRETS, "Brackets", "firm-b1", "180.0"):
                assert secret not in response.text, (route, role, response.text)
            answer = client.request(method, unknown, headers=OTHER[role], json=body).json()
            assert {k: v for k, v in response.json().items() if k not in ("detail", "instance")} \
                == {k: v for k, v in answer.items() if k not in ("detail", "instance")}
            tried += 1
    assert tried >= len(CALLS[service])
    assert _state(client.app) == before


def test_the_owner_still_reaches_each_object(clients: dict[str, TestClient], world: World) -> None:
    """The 404s above are about ownership, not broken paths: the owners get 200."""
    owner = {"orders": bearer("firm-b1", "buyer", CLUSTER),
             "capacity": bearer("firm-s1", "supplier", CLUSTER),
             "matcher": bearer("firm-b1", "buyer", CLUSTER)}
    for service, calls in CALLS.items():
        for route, (ids, _) in calls.items():
            method, template = route.split(" ")
            if method != "GET":
                continue
            path = template.format(**{k: getattr(world, v) for k, v in ids.items()})
            response = clients[service].get(path, headers=owner[service])
            assert response.status_code == 200, (route, response.text)


def _state(app: FastAPI) -> tuple[int, list[tuple[str, ...]]]:
    """Events written, and every row of the service's main tables."""
    with app.state.runtime.engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
        names = [t for t in sa.inspect(conn).get_table_names()
                 if t in {"orders", "order_steps", "factories", "machines", "windows",
                          "reservations", "steps", "match_runs"}]
        rows = [tuple(map(str, r)) for t in sorted(names)
                for r in conn.execute(sa.text(f"SELECT * FROM {t}")).all()]
    return events, rows
