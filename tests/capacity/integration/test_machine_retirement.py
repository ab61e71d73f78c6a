"""DELETE /v1/machines/{id} and DELETE /v1/factories/{id} over HTTP and a real database: the
windows close and what is retired is gone for every read and write (a factory's reservations
stay readable); work held there keeps it in service (409)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.capacity.domain import commands
from services.capacity.domain.errors import NotFound, WindowInUse
from services.capacity.domain.model import Actor
from services.capacity.service_layer import handlers
from tests.capacity.integration.flows import (
    BUY,
    OP,
    PROBLEM,
    SUP,
    SUP2,
    T0,
    build_site,
    create_cluster,
    event_types,
    events,
    feed,
    iso,
    race,
)

pytestmark = pytest.mark.integration
SUPPLIER = Actor("firm-s1", "supplier", ("qhd-auto",))


@pytest.fixture
def site(client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    return build_site(client, windows=2)


def test_a_retired_machine_closes_its_windows_and_is_gone(
        client: TestClient, app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    response = client.delete(f"/v1/machines/{site.machine_id}", headers=SUP)
    assert response.status_code == 204, response.text
    assert [e.payload["window_id"] for e in events(app, "window.closed")] == site.window_ids
    for path in (f"/v1/machines/{site.machine_id}", f"/v1/machines/{site.machine_id}/windows",
                 f"/v1/windows/{site.window_ids[0]}"):
        assert client.get(path, headers=SUP).status_code == 404, path
    assert client.get(f"/v1/factories/{site.factory_id}/machines",
                      headers=SUP).json()["items"] == []
    start = T0 + timedelta(days=10)
    opened = client.post(f"/v1/machines/{site.machine_id}/windows", headers=SUP, json={
        "start": iso(start), "end": iso(start + timedelta(hours=8)), "hours": 4})
    assert opened.status_code == 404
    csv = f"machine_id,start,end,hours\n{site.machine_id},{iso(start)}," \
          f"{iso(start + timedelta(hours=8))},4\n"
    imported = client.post("/v1/windows:import", headers=SUP | {"Content-Type": "text/csv"},
                           content=csv.encode())
    assert imported.status_code == 422
    assert imported.json()["errors"] == [
        {"row": 1, "field": "machine_id", "message": "unknown machine"}]
    assert client.patch(f"/v1/machines/{site.machine_id}", headers=SUP,
                        json={"hourly_rate": 1.0}).status_code == 404
    assert client.delete(f"/v1/machines/{site.machine_id}", headers=SUP).status_code == 404
    entries = client.get("/v1/audit", headers=OP,
                         params={"action": "machine.retired"}).json()["items"]
    assert [(e["object_id"], e["detail"]["closed_windows"]) for e in entries] == [
        (site.machine_id, site.window_ids)]


def test_work_held_on_it_keeps_it_in_service(
        client: TestClient, app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    feed(app, "ord-1", ("stp-1", site.window_ids[1], 6.0))
    before = event_types(app)
    response = client.delete(f"/v1/machines/{site.machine_id}", headers=SUP)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM
    assert site.window_ids[1] in response.json()["detail"]
    assert f"window {site.window_ids[1]} (6 h held);" in response.json()["detail"]
    assert event_types(app) == before
    assert client.get(f"/v1/machines/{site.machine_id}", headers=SUP).status_code == 200
    assert all(client.get(f"/v1/windows/{w}", headers=SUP).status_code == 200
               for w in site.window_ids)


def test_accepted_work_keeps_it_in_service_until_it_is_completed(
        client: TestClient, app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    feed(app, "ord-1", ("stp-1", site.window_ids[1], 6.0))
    [reservation] = client.get("/v1/reservations", headers=SUP).json()["items"]
    rid = reservation["id"]
    assert client.post(f"/v1/reservations/{rid}/accept", headers=SUP).status_code == 200
    refused = client.delete(f"/v1/machines/{site.machine_id}", headers=SUP)
    assert refused.status_code == 409
    assert f"window {site.window_ids[1]} (6 h accepted);" in refused.json()["detail"]
    assert "finish the accepted work (POST /v1/reservations/{id}/complete)" in refused.json()[
        "detail"]
    assert client.post(f"/v1/reservations/{rid}/complete", headers=SUP).status_code == 200
    response = client.delete(f"/v1/machines/{site.machine_id}", headers=SUP)
    assert response.status_code == 204, response.text
    assert [e.payload["window_id"] for e in events(app, "window.closed")] == site.window_ids
    kept = client.get(f"/v1/reservations/{rid}", headers=SUP).json()  # the record of the work
    assert (kept["status"], kept["production"], kept["hours"]) == ("accepted", "completed", 6.0)


@pytest.mark.parametrize(("headers", "status"), [(SUP2, 404), (OP, 403), (BUY, 403)])
def test_only_the_owner_retires_its_machine(
        client: TestClient, app: FastAPI, site, headers: dict,  # type: ignore[no-untyped-def]
        status: int) -> None:
    before = event_types(app)
    response = client.delete(f"/v1/machines/{site.machine_id}", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert event_types(app) == before
    assert client.get(f"/v1/machines/{site.machine_id}", headers=SUP).status_code == 200


def test_racing_retirements_and_proposals_never_leave_a_hold_on_a_retired_machine(
        client: TestClient, app: FastAPI) -> None:
    """12 machines, each retired while a proposal for its window arrives, from two threads
    at the same moment. Either the hold wins (the retirement is a 409 and the machine stays) or
    the retirement wins (the proposal is refused): never a hold on a closed window."""
    create_cluster(client)
    sites = [build_site(client, name=f"Site {n}") for n in range(12)]
    answers: dict[int, int] = {}

    def propose(n: int) -> None:
        feed(app, f"ord-{n}", (f"stp-{n}", sites[n].window_ids[0], 2.0))

    def retire(n: int) -> None:  # the handler itself, as quick to start as the proposal
        cmd = commands.RetireMachine(SUPPLIER, sites[n].machine_id)
        try:
            handlers.retire_machine(cmd, app.state.runtime.uow_factory())
            answers[n] = 204
        except WindowInUse:
            answers[n] = 409

    errors = race(partial(action, n) for n in range(len(sites)) for action in (propose, retire))
    assert errors == [] and set(answers.values()) <= {204, 409}
    held = {r["step_id"]: r for r in client.get(
        "/v1/reservations", headers=SUP, params={"limit": 200}).json()["items"]}
    for n, site in enumerate(sites):
        machine = client.get(f"/v1/machines/{site.machine_id}", headers=SUP).status_code
        if answers[n] == 204:  # retired: the proposal found the window closed
            assert machine == 404 and f"stp-{n}" not in held
        else:  # the hold came first
            assert machine == 200 and held[f"stp-{n}"]["status"] == "held"
    refused = events(app, "reservation.rejected")
    assert len(refused) == sum(1 for a in answers.values() if a == 204)


def test_a_retired_factory_is_gone_but_its_reservations_stay_readable(
        client: TestClient, app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    (held,) = client.get("/v1/reservations", headers=SUP).json()["items"]
    path = f"/v1/factories/{site.factory_id}"
    refused = client.delete(path, headers=SUP)
    assert refused.status_code == 409 and "before retiring the factory" in refused.text
    assert client.post(f"/v1/reservations/{held['id']}/decline", headers=SUP,
                       json={"reason": "closing the site"}).status_code == 200
    assert client.delete(path, headers=SUP).status_code == 204
    assert [e.payload["window_id"] for e in events(app, "window.closed")] == site.window_ids
    for gone in (path, f"{path}/machines", f"/v1/machines/{site.machine_id}"):
        assert client.get(gone, headers=SUP).status_code == 404, gone
    assert client.get("/v1/factories", headers=SUP).json()["items"] == []
    assert client.get("/v1/factories", headers=OP,
                      params={"verified": "false"}).json()["items"] == []
    assert client.patch(path, headers=SUP, json={"name": "again"}).status_code == 404
    assert client.post(f"{path}/tier-verification", headers=OP,
                       json={"tier": "basic"}).status_code == 404
    history = client.get(f"/v1/reservations/{held['id']}", headers=SUP).json()
    assert (history["status"], history["reason"]) == ("declined", "closing the site")
    assert [r["id"] for r in client.get("/v1/reservations", headers=SUP, params={
        "factory_id": site.factory_id}).json()["items"]] == [held["id"]]
    audit = client.get("/v1/audit", headers=OP, params={"action": "factory.retired"}).json()
    assert [e["object_id"] for e in audit["items"]] == [site.factory_id]


def test_a_machine_added_while_its_factory_retires_is_retired_or_refused(
        client: TestClient, app: FastAPI) -> None:
    """10 factories, each retired while a machine is added to it, from two threads at the same
    moment: the machine comes first and retires with the factory, or finds it gone. No
    machine is ever left in service in a retired factory."""
    create_cluster(client)
    sites = [build_site(client, name=f"Site {n}", windows=0) for n in range(10)]
    added: dict[int, str | None] = {}

    def add(n: int) -> None:
        cmd = commands.AddMachine(SUPPLIER, sites[n].factory_id, name="late lathe",
                                  process="cnc_turning", hourly_rate=150.0)
        try:
            added[n] = handlers.add_machine(cmd, app.state.runtime.uow_factory()).id
        except NotFound:
            added[n] = None

    def retire(n: int) -> None:
        cmd = commands.RetireFactory(SUPPLIER, sites[n].factory_id)
        handlers.retire_factory(cmd, app.state.runtime.uow_factory())

    errors = race(partial(action, n) for n in range(len(sites)) for action in (add, retire))
    assert errors == []
    with app.state.runtime.engine.connect() as conn:
        in_service = conn.execute(sa.text(
            "SELECT COUNT(*) FROM machines m JOIN factories f ON f.id = m.factory_id "
            "WHERE f.retired_at IS NOT NULL AND m.retired_at IS NULL")).scalar_one()
    assert in_service == 0
    for machine_id in filter(None, added.values()):  # added first, then retired with it
        assert client.get(f"/v1/machines/{machine_id}", headers=SUP).status_code == 404
