"""Hold expiry: a tiny TTL, and the worker's ``tick`` called directly (no sleeping)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.capacity.bootstrap import create_app
from services.capacity.config import Settings
from services.capacity.entrypoints.expiry import HoldExpiry
from tests.capacity.integration.flows import (
    PROBLEM,
    SUP,
    Site,
    build_site,
    create_cluster,
    events,
    feed,
    reservation_ids,
    window,
)

pytestmark = pytest.mark.integration

TTL_HOURS = 0.01  # 36 seconds: ample for the accept below, and tick() is given a later "now"


@pytest.fixture
def app(database_url: str) -> FastAPI:
    return create_app(Settings(database_url=database_url, kafka_consumer_enabled=False,
                               outbox_relay_enabled=False, hold_ttl_hours=TTL_HOURS,
                               expiry_interval_s=3600))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def site(client: TestClient) -> Site:
    create_cluster(client)
    return build_site(client, windows=1, hours=20.0)


def _worker(app: FastAPI) -> HoldExpiry:
    [worker] = [b for b in app.state.runtime.background if isinstance(b, HoldExpiry)]
    return worker


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(hours=TTL_HOURS, seconds=1)


def test_the_runtime_runs_the_worker(client: TestClient, app: FastAPI) -> None:
    assert _worker(app).alive


def test_a_due_hold_expires_frees_its_hours_and_is_announced(app: FastAPI, client: TestClient,
                                                            site: Site) -> None:
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    feed(app, "ord-2", ("stp-2", site.window_ids[0], 4.0))
    first, second = reservation_ids(client)
    assert client.post(f"/v1/reservations/{second}/accept", headers=SUP).status_code == 200

    assert _worker(app).tick() == 0  # not due yet
    assert window(client, site)["held_hours"] == 6.0

    assert _worker(app).tick(now=_later()) == 1  # the accepted one stays
    assert client.get(f"/v1/reservations/{first}", headers=SUP).json()["status"] == "expired"
    assert client.get(f"/v1/reservations/{second}", headers=SUP).json()["status"] == "accepted"
    w = window(client, site)
    assert (w["held_hours"], w["accepted_hours"], w["free_hours"]) == (0.0, 4.0, 16.0)
    expired = events(app, "reservation.expired")
    assert len(expired) == 1
    assert expired[0].payload == {
        "cluster_id": "qhd-auto", "order_id": "ord-1", "step_id": "stp-1",
        "window_id": site.window_ids[0], "hours": 6.0, "reservation_id": first,
        "factory_id": site.factory_id}
    assert (expired[0].key, expired[0].correlation_id) == ("qhd-auto", "ord-1")

    assert _worker(app).tick(now=_later()) == 0  # nothing twice
    assert len(events(app, "reservation.expired")) == 1
    late = client.post(f"/v1/reservations/{first}/accept", headers=SUP)
    assert late.status_code == 409 and late.headers["content-type"] == PROBLEM


def test_a_hold_lasts_the_configured_ttl(app: FastAPI, client: TestClient, site: Site) -> None:
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    [rid] = reservation_ids(client)
    reservation = client.get(f"/v1/reservations/{rid}", headers=SUP).json()
    expires = datetime.fromisoformat(reservation["expires_at"])
    created = datetime.fromisoformat(reservation["created_at"])
    assert expires - created == timedelta(hours=TTL_HOURS)


def test_the_step_can_be_held_again_after_expiry(app: FastAPI, client: TestClient,
                                                 site: Site) -> None:
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    _worker(app).tick(now=_later())
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    statuses = sorted(r["status"] for r in client.get("/v1/reservations", headers=SUP).json()[
        "items"])
    assert statuses == ["expired", "held"]
    assert window(client, site)["held_hours"] == 6.0
