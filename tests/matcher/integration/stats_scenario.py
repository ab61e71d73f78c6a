"""A small cluster whose statistics can be worked out by hand (shared by the stats, metrics and
dashboard tests).

fac-1 (SME) has the mill mch-1 with win-1 (20 h); fac-2 (not an SME, 5.5 km further east)
has the lathe mch-2 with win-2 (10 h). Three orders, submitted 10 s, 20 s and 30 s before
``now``: ord-1 (6 h milling → fac-1), ord-2 (4 h turning → fac-2) and ord-3 (2 h EDM: no machine
can do it → unplaced, ``no_capable_machine``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.matcher.domain.costs import haversine_km
from shared.events import EventPayload, new_event
from shared.events import payloads as ev
from tests.matcher import events as e

DELIVERY = (39.94, 119.55)
FAC1 = (39.95, 119.58)
FAC2 = (39.95, 119.645)
KM1 = round(haversine_km(*FAC1, *DELIVERY), 3)
KM2 = round(haversine_km(*FAC2, *DELIVERY), 3)
AGES_S = {"ord-1": 10.0, "ord-2": 20.0, "ord-3": 30.0}


def capacity(t0: datetime) -> list[EventPayload]:
    return [
        e.cluster_created(), e.factory(), e.machine_added(), e.window_opened(t0),
        e.factory(factory_id="fac-2", firm_id="firm-s2", name="Beidaihe Turning", sme=False,
                  lat=FAC2[0], lon=FAC2[1]),
        e.machine_added("mch-2", factory_id="fac-2", hourly_rate=120.0,
                        process="cnc_turning"),
        e.window_opened(t0, "win-2", machine_id="mch-2", factory_id="fac-2", hours=10.0),
    ]


def orders(t0: datetime) -> list[EventPayload]:
    def step(step_id: str, process: str, hours: float) -> ev.SubmittedStep:
        return ev.SubmittedStep(step_id=step_id, key="k0", process=process, material="steel",
                                quantity=100, hours=hours, after=[])

    return [e.order_submitted(t0, "ord-1", steps=[step("stp-1", "cnc_milling", 6.0)]),
            e.order_submitted(t0, "ord-2", steps=[step("stp-2", "cnc_turning", 4.0)]),
            e.order_submitted(t0, "ord-3", steps=[step("stp-3", "edm", 2.0)])]


def feed_at(app: FastAPI, payload: EventPayload, occurred_at: datetime) -> None:
    envelope = new_event(payload, key=e.CLUSTER, producer="test").model_copy(
        update={"occurred_at": occurred_at})
    app.state.event_handler(envelope, payload)


def feed_scenario(app: FastAPI, t0: datetime, now: datetime) -> None:
    for p in capacity(t0):
        feed_at(app, p, now)
    for p in orders(t0):
        feed_at(app, p, now - timedelta(seconds=AGES_S[p.order_id]))


def feed_at_risk(client: TestClient, t0: datetime) -> None:
    """The scenario, then ord-4 and ord-5 (due two days sooner, buyer firm-b2), two 2 h mill
    steps each, placed on win-1 (the one mill window); each first step accepted, each second
    declined and so unplaced by the next run; ord-5's first step then completed. Both orders
    are at risk: 2 orders, 1 accepted step not done (stp-4a), 2.0 h."""
    from tests.matcher.integration.conftest import feed, plan_now

    feed_scenario(client.app, t0, datetime.now(UTC))
    feed(client.app,
         e.order_submitted(t0, "ord-4", step_ids=("stp-4a", "stp-4b"), hours=2.0),
         e.order_submitted(t0, "ord-5", step_ids=("stp-5a", "stp-5b"), hours=2.0,
                           due=t0 + timedelta(days=5), title="Hubs", buyer_firm_id="firm-b2"))
    plan_now(client)
    for n in "45":
        ref = {"order_id": f"ord-{n}", "hours": 2.0}
        feed(client.app, e.accepted(step_id=f"stp-{n}a", **ref),
             e.declined(step_id=f"stp-{n}b", **ref))
    plan_now(client)
    feed(client.app, e.completed(step_id="stp-5a", order_id="ord-5", hours=2.0))
