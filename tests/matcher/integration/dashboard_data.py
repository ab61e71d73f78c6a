"""An hour of a busy cluster fed into a matcher app: orders arriving a few at a time and a match
run every 150 s, with some steps no factory can take, and one order at risk (for the
dashboard's tests)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from fastapi import FastAPI

from services.matcher.domain.runs import INTERVAL
from services.matcher.service_layer import planning
from shared.events import payloads as ev
from tests.matcher import events as e
from tests.matcher.integration.conftest import steps
from tests.matcher.integration.stats_scenario import FAC2, feed_at

RUN_EVERY = timedelta(seconds=150)  # the dashboard's 1 h window has 24 buckets of 150 s


def capacity(t0: datetime) -> list[ev.EventPayload]:
    return [
        e.cluster_created(), e.factory(), e.machine_added(),
        e.window_opened(t0, hours=60.0, end_h=24 * 6),
        e.machine_added("mch-1b", hourly_rate=150.0),
        e.window_opened(t0, "win-1b", machine_id="mch-1b", hours=40.0, end_h=24 * 6),
        e.factory(factory_id="fac-2", firm_id="firm-s2", name="Beidaihe Turning", sme=False,
                  lat=FAC2[0], lon=FAC2[1]),
        e.machine_added("mch-2", factory_id="fac-2", hourly_rate=120.0, process="cnc_turning"),
        e.window_opened(t0, "win-2", machine_id="mch-2", factory_id="fac-2", hours=80.0,
                        end_h=24 * 6),
        # the one grinder: the order at risk's steps have nowhere else to go
        e.machine_added("mch-3", factory_id="fac-2", hourly_rate=140.0, process="grinding"),
        e.window_opened(t0, "win-3", machine_id="mch-3", factory_id="fac-2", hours=10.0,
                        end_h=24 * 6),
    ]


def _order(t0: datetime, n: int, rng: random.Random) -> ev.OrderSubmitted:
    process = rng.choices(["cnc_milling", "cnc_turning", "edm"], weights=[6, 4, 1])[0]
    step = ev.SubmittedStep(step_id=f"stp-{n}", key="k0", process=process, material="steel",
                            quantity=100, hours=float(rng.choice([2, 3, 4, 6])), after=[])
    return e.order_submitted(t0, f"ord-{n}", steps=[step])


def feed_busy_hour(app: FastAPI, *, t0: datetime, now: datetime, seed: int = 7) -> int:
    """Returns how many match runs were made."""
    rng = random.Random(seed)
    for p in capacity(t0):
        feed_at(app, p, now - timedelta(hours=2))
    options = planning.PlanningOptions(params=app.state.settings.parameters(),
                                       solver=app.state.settings.solver,
                                       solver_options=app.state.settings.solver_options())
    n, runs, start = 0, 0, now - timedelta(minutes=58)
    run_at = start + RUN_EVERY
    while run_at <= now:
        arriving = rng.randint(0, 4)  # orders arriving before this run
        for _ in range(arriving):
            n += 1
            submitted = run_at - timedelta(seconds=rng.uniform(0.2, 2.5))
            feed_at(app, _order(t0, n, rng), submitted)
        if arriving:  # the planning loop plans only clusters with pending steps
            planning.plan_cluster(e.CLUSTER, uow=app.state.runtime.uow_factory(),
                                  options=options, trigger=INTERVAL, now=run_at)
            runs += 1
        run_at += RUN_EVERY
    # every third placed step accepted and its work completed: the "Orders completed" card;
    # every third after it accepted and started: the "In production" card
    for n, (step_id, step) in enumerate(sorted(steps(app).items())):
        if step["window_id"] and n % 3 in (0, 1):
            ref = {"step_id": step_id, "window_id": step["window_id"],
                   "order_id": step_id.replace("stp-", "ord-")}
            feed_at(app, e.accepted(**ref), now - timedelta(minutes=10))
            at = now - timedelta(minutes=5)
            feed_at(app, (e.completed if n % 3 == 0 else e.started)(**ref, at=at), at)
    return runs + _order_at_risk(app, t0=t0, now=now, options=options)


def _order_at_risk(app: FastAPI, *, t0: datetime, now: datetime,
                   options: planning.PlanningOptions) -> int:
    """Two grinding steps placed on the one grinder's window; the first accepted, the second
    declined and so unplaced by the next run: the "At risk" card. Returns the runs made."""
    order = e.order_submitted(t0, "ord-risk", steps=[
        ev.SubmittedStep(step_id=f"stp-risk-{k}", key=f"grind-{k}", process="grinding",
                         material="steel", quantity=50, hours=3.0, after=[]) for k in "ab"])
    feed_at(app, order, now - timedelta(minutes=1.5, seconds=2))
    for minutes_ago in (1.5, 0.5):
        planning.plan_cluster(e.CLUSTER, uow=app.state.runtime.uow_factory(), options=options,
                              trigger=INTERVAL, now=now - timedelta(minutes=minutes_ago))
        if minutes_ago == 1.5:
            ref = {"order_id": "ord-risk", "window_id": "win-3", "hours": 3.0}
            feed_at(app, e.accepted(step_id="stp-risk-a", **ref), now - timedelta(minutes=1))
            feed_at(app, e.declined(step_id="stp-risk-b", **ref), now - timedelta(minutes=1))
    assert steps(app)["stp-risk-b"]["status"] == "unplaced"
    return 2
