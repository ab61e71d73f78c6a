"""One step's whole life through the matcher, as capacity and orders would report it:
submitted → planned → rejected → re-planned → held → declined → re-planned on another window →
expired → re-planned → accepted → cancelled (nothing planned any more, every hour free).

Four mills of fac-1, one window each: win-1 (180 CNY/h) … win-4 (210 CNY/h), so each re-plan
takes the cheapest window the step has not lost yet.
"""

import pytest

from tests.matcher import events as e
from tests.matcher.integration.conftest import (
    BUYER,
    feed,
    free_hours,
    outbox_events,
    plan_now,
    steps,
)

pytestmark = pytest.mark.integration

WINDOWS = ("win-1", "win-2", "win-3", "win-4")
ALL_FREE = dict.fromkeys(WINDOWS, 20.0)


def four_windows(t0):  # type: ignore[no-untyped-def]
    out = e.walkthrough(t0)[:-1]  # the order comes later
    for i in range(2, 5):
        out += [e.machine_added(f"mch-{i}", hourly_rate=170.0 + 10 * i),
                e.window_opened(t0, f"win-{i}", machine_id=f"mch-{i}")]
    return out


def replan(client, window_id):  # type: ignore[no-untyped-def]
    """A run that proposes stp-1, and only stp-1, on ``window_id``; returns the run id."""
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (1, 0)
    last = outbox_events(client.app, "allocation.proposed")[-1]["payload"]
    assert last["match_run_id"] == run["id"]
    assert [(a["step_id"], a["window_id"]) for a in last["allocations"]] == [("stp-1", window_id)]
    assert steps(client.app)["stp-1"]["status"] == "proposed"
    return run["id"]


def step_is(app, status, excluded):  # type: ignore[no-untyped-def]
    stored = steps(app)["stp-1"]
    assert (stored["status"], stored["excluded"]) == (status, excluded)


@pytest.mark.parametrize("cancellation_first", [True, False],
                         ids=["order.cancelled-first", "reservation.released-first"])
def test_a_step_from_submission_to_cancellation(client, t0, cancellation_first):  # type: ignore[no-untyped-def]
    app = client.app
    feed(app, *four_windows(t0), e.order_submitted(t0))
    step_is(app, "pending", [])

    run = replan(client, "win-1")
    feed(app, e.rejected(run_id=run))  # capacity could not hold it
    step_is(app, "pending", ["win-1"])

    replan(client, "win-2")
    feed(app, e.held(window_id="win-2"))
    step_is(app, "held", ["win-1"])
    assert free_hours(app) == {**ALL_FREE, "win-2": 14.0}
    assert plan_now(client)["placed_steps"] == 0  # held: pinned, not planned again
    feed(app, e.declined(window_id="win-2"))
    step_is(app, "pending", ["win-1", "win-2"])
    assert free_hours(app) == ALL_FREE

    replan(client, "win-3")
    feed(app, e.held(window_id="win-3"), e.expired(window_id="win-3"))
    step_is(app, "pending", ["win-1", "win-2", "win-3"])
    assert free_hours(app) == ALL_FREE

    replan(client, "win-4")
    feed(app, e.held(window_id="win-4"), e.accepted(window_id="win-4"))
    step_is(app, "accepted", ["win-1", "win-2", "win-3"])
    assert free_hours(app) == {**ALL_FREE, "win-4": 14.0}

    cancelled, released = e.order_cancelled(), e.released(window_id="win-4")
    feed(app, *((cancelled, released) if cancellation_first else (released, cancelled)))
    assert steps(app)["stp-1"]["status"] == "cancelled"
    assert free_hours(app) == ALL_FREE
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (0, 0)
    feed(app, e.window_opened(t0, "win-5", hours=40.0))  # new capacity retries nothing
    assert plan_now(client)["placed_steps"] == 0
    assert [x["payload"]["allocations"][0]["window_id"]
            for x in outbox_events(app, "allocation.proposed")] == list(WINDOWS)
    assert outbox_events(app, "step.unplaced") == []
    body = client.get("/v1/steps/stp-1/explanation", headers=BUYER).json()
    assert (body["status"], body["funnel"]) == ("cancelled", [])
