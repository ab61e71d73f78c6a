"""Helpers for the capacity integration tests: tokens, set-up over HTTP, events, table reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.events import Envelope, new_event
from shared.events.payloads import (
    AllocationProposed,
    AllocationProposedV3,
    OrderCancelled,
    PrecedingStep,
    ProposedAllocation,
    ProposedStepJob,
    ProposedStepJobAllocation,
)
from shared.messaging.tables import outbox
from tests.helpers import bearer

CLUSTER = "qhd-auto"
OP = bearer("platform", "operator")
SUP = bearer("firm-s1", "supplier", CLUSTER)
SUP2 = bearer("firm-s2", "supplier", CLUSTER)
BUY = bearer("firm-b1", "buyer", CLUSTER)
T0 = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
PROBLEM = "application/problem+json"


@dataclass
class Site:
    factory_id: str
    machine_id: str
    window_ids: list[str]


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def create_cluster(client: TestClient, cluster_id: str = CLUSTER) -> dict:
    response = client.post("/v1/clusters", headers=OP, json={
        "id": cluster_id, "name": "Qinhuangdao auto parts", "lat": 39.93, "lon": 119.60,
        "max_distance_km": 60})
    assert response.status_code == 201, response.text
    return response.json()


def build_site(client: TestClient, *, windows: int = 1, hours: float = 20.0,
               headers: dict[str, str] = SUP, name: str = "Haigang Precision",
               process: str = "cnc_milling") -> Site:
    """A factory with one machine and ``windows`` consecutive 48-hour windows."""
    factory = client.post("/v1/factories", headers=headers, json={
        "cluster_id": CLUSTER, "name": name, "lat": 39.95, "lon": 119.58,
        "declared_tier": "advanced", "sme": True, "certifications": ["ISO9001"]})
    assert factory.status_code == 201, factory.text
    fid = factory.json()["id"]
    machine = client.post(f"/v1/factories/{fid}/machines", headers=headers, json={
        "name": "5-axis mill", "process": process, "materials": ["steel", "aluminium"],
        "hourly_rate": 180.0})
    assert machine.status_code == 201, machine.text
    mid = machine.json()["id"]
    wids = []
    for n in range(windows):
        start = T0 + timedelta(hours=48 * n)
        window = client.post(f"/v1/machines/{mid}/windows", headers=headers, json={
            "start": iso(start), "end": iso(start + timedelta(hours=48)), "hours": hours})
        assert window.status_code == 201, window.text
        wids.append(window.json()["id"])
    return Site(fid, mid, wids)


def add_window(client: TestClient, machine_id: str, start: datetime, end: datetime,
               hours: float, *, headers: dict[str, str] = SUP) -> dict:
    response = client.post(f"/v1/machines/{machine_id}/windows", headers=headers, json={
        "start": iso(start), "end": iso(end), "hours": hours})
    assert response.status_code == 201, response.text
    return response.json()


def proposal(order_id: str, *allocs: tuple[str, str, float],
             cluster_id: str = CLUSTER) -> tuple[Envelope, AllocationProposed]:
    payload = AllocationProposed(
        match_run_id="run-1", cluster_id=cluster_id, order_id=order_id,
        allocations=[ProposedAllocation(step_id=s, window_id=w, machine_id="m", factory_id="f",
                                        hours=h, price=h * 180.0, transport_km=2.5)
                     for s, w, h in allocs])
    envelope = new_event(payload, key=cluster_id, producer="matcher", correlation_id=order_id)
    return envelope, payload


def feed(app: FastAPI, order_id: str, *allocs: tuple[str, str, float]) -> Envelope:
    envelope, payload = proposal(order_id, *allocs)
    app.state.event_handler(envelope, payload)
    return envelope


@dataclass(frozen=True)
class JobStep:
    """One step of a version 3 proposal: its key, window, hours and the steps it comes after."""

    step_id: str
    key: str
    window_id: str
    hours: float
    after: tuple[str, ...] = ()
    factory_id: str = "f"


def feed_jobs(app: FastAPI, order_id: str, *steps: JobStep) -> Envelope:
    """Feed allocation.proposed version 3 (each job with its step and what it comes after)."""
    keys = {s.step_id: s.key for s in steps}
    payload = AllocationProposedV3(
        match_run_id="run-3", cluster_id=CLUSTER, order_id=order_id,
        allocations=[ProposedStepJobAllocation(
            step_id=s.step_id, window_id=s.window_id, machine_id="m", factory_id=s.factory_id,
            hours=s.hours, price=s.hours * 180.0, transport_km=2.5,
            job=ProposedStepJob(title="Gearbox covers", process="cnc_milling",
                                material="aluminium", quantity=1200, due=T0 + timedelta(days=14),
                                step=s.key, after=[PrecedingStep(step_id=a, key=keys[a])
                                                   for a in s.after]))
            for s in steps])
    envelope = new_event(payload, key=CLUSTER, producer="matcher", correlation_id=order_id)
    app.state.event_handler(envelope, payload)
    return envelope


def cancel(app: FastAPI, order_id: str, *step_ids: str) -> Envelope:
    """Feed order.cancelled as the orders service emits it."""
    payload = OrderCancelled(order_id=order_id, cluster_id=CLUSTER, buyer_firm_id="firm-b1",
                             step_ids=list(step_ids), reason="no longer needed")
    envelope = new_event(payload, key=CLUSTER, producer="orders", correlation_id=order_id)
    app.state.event_handler(envelope, payload)
    return envelope


def events(app: FastAPI, type_: str | None = None) -> list[Envelope]:
    query = sa.select(outbox.c.body).order_by(outbox.c.id)
    if type_ is not None:
        query = query.where(outbox.c.type == type_)
    with app.state.runtime.engine.connect() as conn:
        return [Envelope.model_validate_json(body) for body in conn.scalars(query)]


def event_types(app: FastAPI) -> list[str]:
    return [e.type for e in events(app)]


def count(app: FastAPI, table: str) -> int:
    with app.state.runtime.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def window(client: TestClient, site: Site, index: int = 0) -> dict:
    response = client.get(f"/v1/windows/{site.window_ids[index]}", headers=SUP)
    assert response.status_code == 200, response.text
    return response.json()


def reservation_ids(client: TestClient, **params: str) -> list[str]:
    response = client.get("/v1/reservations", headers=SUP, params=params)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["items"]]


def race(actions: Iterable[Callable[[], object]], *, timeout_s: float = 120) -> list[BaseException]:
    """Run every action in its own thread, all released at the same moment; what they raised."""
    calls = list(actions)
    start, errors = threading.Barrier(len(calls)), []

    def run(action: Callable[[], object]) -> None:
        start.wait()
        try:
            action()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(action,)) for action in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    return errors
