"""order.cancelled and reservation.released against the in-memory unit of work: the order's
steps leave planning for good and their hours are free, whichever event arrives first."""

import pytest

from services.matcher.domain.readmodel import (
    ACCEPTED,
    CANCELLED,
    HELD,
    PENDING,
    PROPOSED,
    UNPLACED,
)
from services.matcher.service_layer.handlers import handle_event
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import NOW, feed, plan


def free_hours(uow):  # type: ignore[no-untyped-def]
    snap = uow.read_model.snapshot(e.CLUSTER, now=NOW, order_ids=[])
    return {w.id: w.free_hours for w in snap.windows}


def bring(uow, status):  # type: ignore[no-untyped-def]
    """Take stp-1 (6 h on win-1) from pending to ``status``."""
    if status in (PROPOSED, HELD, ACCEPTED):
        plan(uow)
    if status in (HELD, ACCEPTED):
        feed(uow, e.held())
    if status == ACCEPTED:
        feed(uow, e.accepted())
    if status == UNPLACED:
        run = plan(uow)
        feed(uow, e.rejected(run_id=run.id))  # win-1, the only window, is excluded …
        plan(uow)  # … so the step is unplaced
    assert uow.read_model.steps["stp-1"].status == status


@pytest.mark.parametrize("status", [PENDING, PROPOSED, HELD, ACCEPTED, UNPLACED])
def test_a_cancelled_order_is_never_planned_again_and_frees_its_hours(uow, status):  # type: ignore[no-untyped-def]
    bring(uow, status)
    feed(uow, e.order_cancelled())
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id) == (CANCELLED, None)
    assert step.detail == "the order was cancelled: customer withdrew"
    assert free_hours(uow) == {"win-1": 20.0}
    assert uow.read_model.clusters_with_pending() == []
    published = len(uow.published)
    run = plan(uow)
    assert (run.placed_steps, run.unplaced_steps) == (0, 0)
    assert uow.types()[published:] == ["match_run.completed"]
    feed(uow, e.order_submitted(T0, "ord-2", hours=20.0))  # the whole window is free again
    plan(uow)
    assert uow.read_model.steps["stp-2"].window_id == "win-1"
    assert uow.read_model.steps["stp-1"].status == CANCELLED


def test_late_reservation_events_leave_a_cancelled_step_cancelled(uow):  # type: ignore[no-untyped-def]
    run = plan(uow)
    feed(uow, e.order_cancelled(), e.held(), e.accepted(),
         e.rejected(run_id=run.id, reason="order_cancelled"), e.declined(), e.expired(),
         e.window_opened(T0, "win-2"))
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.excluded_windows) == (CANCELLED, None, [])
    assert free_hours(uow) == {"win-1": 20.0, "win-2": 20.0}


def test_an_order_cancelled_twice_or_unknown_changes_nothing(uow):  # type: ignore[no-untyped-def]
    env, payload = e.envelope(e.order_cancelled())
    assert handle_event(env, payload, uow=uow) is True
    assert handle_event(env, payload, uow=uow) is False
    feed(uow, e.order_cancelled(reason="again"))  # a second event of the same cancellation
    assert uow.read_model.steps["stp-1"].detail == "the order was cancelled: customer withdrew"
    assert handle_event(*e.envelope(e.order_cancelled("ord-404", step_ids=("x",))),
                        uow=uow) is True  # claimed, logged, nothing else
    assert set(uow.read_model.steps) == {"stp-1"}


def two_step_order_held(uow):  # type: ignore[no-untyped-def]
    """ord-2 with steps a and b (6 h each) held on win-1, next to stp-1 (proposed)."""
    feed(uow, e.order_submitted(T0, "ord-2", step_ids=("a", "b")))
    plan(uow)
    feed(uow, e.held(step_id="a", order_id="ord-2"), e.held(step_id="b", order_id="ord-2"))
    assert free_hours(uow) == {"win-1": 2.0}


def test_released_before_order_cancelled_cancels_the_whole_order(uow):  # type: ignore[no-untyped-def]
    two_step_order_held(uow)
    feed(uow, e.released(step_id="a", order_id="ord-2"))
    steps = uow.read_model.steps
    assert (steps["a"].status, steps["b"].status) == (CANCELLED, CANCELLED)
    assert steps["stp-1"].status == PROPOSED  # another order: untouched
    assert free_hours(uow) == {"win-1": 14.0}
    before = {sid: (s.status, s.detail) for sid, s in steps.items()}
    feed(uow, e.released(step_id="b", order_id="ord-2"),
         e.order_cancelled("ord-2", step_ids=("a", "b")))
    assert {sid: (s.status, s.detail) for sid, s in steps.items()} == before
    assert free_hours(uow) == {"win-1": 14.0}


def test_released_after_order_cancelled_changes_nothing(uow):  # type: ignore[no-untyped-def]
    two_step_order_held(uow)
    feed(uow, e.order_cancelled("ord-2", step_ids=("a", "b")))
    before = {sid: (s.status, s.detail) for sid, s in uow.read_model.steps.items()}
    feed(uow, e.released(step_id="a", order_id="ord-2"),
         e.released(step_id="b", order_id="ord-2"))
    assert {sid: (s.status, s.detail) for sid, s in uow.read_model.steps.items()} == before
    assert free_hours(uow) == {"win-1": 14.0}


def test_a_release_for_another_reason_frees_the_step_to_be_planned_again(uow):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held(), e.accepted(), e.released(reason="factory_closed"))
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.excluded_windows) == (PENDING, None, [])
    assert free_hours(uow) == {"win-1": 20.0}
    plan(uow)
    assert uow.read_model.steps["stp-1"].window_id == "win-1"


def test_a_stale_release_of_another_window_changes_nothing(uow):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held(), e.released(window_id="win-9", reason="factory_closed"))
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id) == (HELD, "win-1")


def test_a_proposal_refused_because_the_order_was_cancelled_cancels_the_order(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", step_ids=("a", "b")))
    run = plan(uow)
    feed(uow, e.rejected(step_id="a", order_id="ord-2", run_id=run.id, reason="order_cancelled"))
    steps = uow.read_model.steps
    assert (steps["a"].status, steps["b"].status) == (CANCELLED, CANCELLED)
    assert (steps["a"].excluded_windows, steps["stp-1"].status) == ([], PROPOSED)
    assert "refused" in steps["a"].detail
    feed(uow, e.rejected(step_id="b", order_id="ord-2", run_id=run.id, reason="order_cancelled"),
         e.order_cancelled("ord-2", step_ids=("a", "b")))
    assert (steps["a"].status, steps["b"].status) == (CANCELLED, CANCELLED)
    assert plan(uow).placed_steps == 0
