"""Re-planning after a hold ends (declined or expired), with held and accepted steps pinned.

The walk-through plus a dearer mill ``mch-2`` (200 CNY/h) with its window ``win-2``, so a
step that loses win-1 has somewhere else to go.
"""

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.readmodel import ACCEPTED, HELD, PENDING, PROPOSED, UNPLACED
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import NOW, feed, plan


@pytest.fixture
def uow(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.machine_added("mch-2", hourly_rate=200.0),
         e.window_opened(T0, "win-2", machine_id="mch-2"))
    return uow


def free_hours(uow):  # type: ignore[no-untyped-def]
    snap = uow.read_model.snapshot(e.CLUSTER, now=NOW, order_ids=[])
    return {w.id: w.free_hours for w in snap.windows}


@pytest.mark.parametrize("ended", [e.declined, e.expired])
def test_a_hold_that_ends_is_replanned_without_its_window(uow, ended):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held())
    assert free_hours(uow) == {"win-1": 14.0, "win-2": 20.0}
    feed(uow, ended())
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.excluded_windows) == (PENDING, None, ["win-1"])
    assert free_hours(uow) == {"win-1": 20.0, "win-2": 20.0}
    plan(uow)
    assert uow.read_model.steps["stp-1"].window_id == "win-2"
    assert uow.published[-2].payload["allocations"][0]["window_id"] == "win-2"
    feed(uow, e.held(window_id="win-2"), ended(window_id="win-2"))
    plan(uow)  # both windows failed the step: nowhere left
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.reason) == (UNPLACED, reasons.CAPACITY_TAKEN)
    assert "2 rejected or declined for this step" in step.detail


def test_an_expiry_of_a_window_the_step_already_left_changes_only_the_exclusions(uow):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held(), e.declined())
    plan(uow)  # now proposed on win-2
    feed(uow, e.expired())  # a late expiry of the win-1 hold
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.excluded_windows) == (PROPOSED, "win-2", ["win-1"])


def test_an_accepted_sibling_stays_put_while_its_declined_sibling_moves(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", step_ids=("a", "b")))
    plan(uow)  # stp-1, a and b: 18 h on win-1
    feed(uow, *(e.held(step_id=s, order_id="ord-2") for s in "ab"),
         e.accepted(step_id="a", order_id="ord-2"), e.declined(step_id="b", order_id="ord-2"))
    run = plan(uow)
    assert (run.placed_steps, run.unplaced_steps) == (1, 0)
    (proposed,) = [x for x in uow.published if x.type == "allocation.proposed"
                   and x.payload["match_run_id"] == run.id]
    assert [(a["step_id"], a["window_id"]) for a in proposed.payload["allocations"]] == [
        ("b", "win-2")]
    steps = uow.read_model.steps
    assert (steps["a"].status, steps["a"].window_id) == (ACCEPTED, "win-1")
    assert free_hours(uow) == {"win-1": 8.0, "win-2": 14.0}


def test_a_held_sibling_stays_put_while_its_declined_sibling_moves(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", step_ids=("a", "b")))
    plan(uow)
    feed(uow, e.held(step_id="a", order_id="ord-2"), e.declined(step_id="b", order_id="ord-2"))
    plan(uow)
    steps = uow.read_model.steps
    assert (steps["a"].status, steps["a"].window_id) == (HELD, "win-1")
    assert (steps["b"].status, steps["b"].window_id) == (PROPOSED, "win-2")
