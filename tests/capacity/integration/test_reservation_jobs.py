"""What a supplier is asked to make: allocation.proposed describes each step's job, and the
reservation shows it (title, process, material, quantity, due date; from version 3 the step and
the steps it comes after), never the buyer. Version 2 and 1 proposals still hold: without the
step, and with no job."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.events import new_event
from shared.events.payloads import AllocationProposedV2, ProposedJob, ProposedJobAllocation
from tests.capacity.integration.flows import (
    CLUSTER,
    SUP,
    JobStep,
    build_site,
    create_cluster,
    feed,
    feed_jobs,
)

pytestmark = pytest.mark.integration

DUE = datetime(2030, 1, 14, tzinfo=UTC)


def _jobs(client: TestClient) -> dict[str, dict | None]:
    page = client.get("/v1/reservations", headers=SUP, params={"status": "held"})
    assert page.status_code == 200, page.text
    return {r["step_id"]: r["job"] for r in page.json()["items"]}


def test_a_held_reservation_says_what_the_job_is(app: FastAPI, client: TestClient) -> None:
    create_cluster(client)
    site = build_site(client, windows=2)
    jobs = [ProposedJob(title="Gearbox covers", process="cnc_milling", material="aluminium",
                        quantity=1200, due=DUE),
            ProposedJob(title="Gearbox covers", process="cnc_milling", material=None,
                        quantity=1200, due=DUE)]
    payload = AllocationProposedV2(
        match_run_id="run-2", cluster_id=CLUSTER, order_id="ord-2",
        allocations=[ProposedJobAllocation(
            step_id=f"stp-{n}", window_id=site.window_ids[n], machine_id=site.machine_id,
            factory_id=site.factory_id, hours=4.0, price=720.0, transport_km=2.5, job=job)
            for n, job in enumerate(jobs)])
    envelope = new_event(payload, key=CLUSTER, producer="matcher", correlation_id="ord-2")
    app.state.event_handler(envelope, envelope.parsed())  # the payload as read from the topic

    feed(app, "ord-1", ("stp-9", site.window_ids[1], 2.0))  # a version 1 proposal: no job
    feed_jobs(app, "ord-3", JobStep("stp-cut", "cut", site.window_ids[0], 2.0),
              JobStep("stp-mill", "mill", site.window_ids[1], 2.0, after=("stp-cut",)))
    shown = _jobs(client)
    assert shown["stp-0"] == {"title": "Gearbox covers", "process": "cnc_milling",
                              "material": "aluminium", "quantity": 1200,
                              "due": "2030-01-14T00:00:00Z", "step": None, "after": []}
    assert shown["stp-1"]["material"] is None
    assert shown["stp-9"] is None
    assert (shown["stp-cut"]["step"], shown["stp-cut"]["after"]) == ("cut", [])  # version 3
    assert (shown["stp-mill"]["step"], shown["stp-mill"]["after"]) == (
        "mill", [{"step_id": "stp-cut", "key": "cut"}])
    one = client.get("/v1/reservations", headers=SUP).json()["items"]
    assert "firm-b" not in str(one)  # the buyer stays unnamed to the supplier
