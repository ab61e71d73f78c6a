"""window.updated and window.closed against the in-memory unit of work."""

import logging

from services.matcher.domain import reasons
from services.matcher.domain.model import Parameters
from services.matcher.domain.readmodel import HELD, PENDING, PROPOSED, UNPLACED
from services.matcher.service_layer import views
from shared.events import payloads as ev
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import NOW, feed, plan


def free_hours(uow):  # type: ignore[no-untyped-def]
    snap = uow.read_model.snapshot(e.CLUSTER, now=NOW, order_ids=[])
    return {w.id: w.free_hours for w in snap.windows}


def status(uow, step_id):  # type: ignore[no-untyped-def]
    return uow.read_model.steps[step_id].status


def test_an_update_stores_the_new_times_and_hours_and_free_hours_follow(uow):  # type: ignore[no-untyped-def]
    plan(uow)  # stp-1: 6 h proposed on win-1
    feed(uow, e.window_updated(T0, hours=10.0, start_h=2, end_h=40))
    w = uow.read_model.windows["win-1"]
    assert (w.start, w.end, w.hours) == (e.window_updated(T0, start_h=2).start,
                                         e.window_updated(T0, end_h=40).end, 10.0)
    assert free_hours(uow) == {"win-1": 4.0}
    feed(uow, e.order_submitted(T0, "ord-2", hours=5.0))
    plan(uow)
    step = uow.read_model.steps["stp-2"]
    assert (step.status, step.reason) == (UNPLACED, reasons.CAPACITY_TAKEN)
    why = views.explain_step("stp-2", uow=uow, params=Parameters(), now=NOW)
    assert why.nearest_miss == "free_capacity: only 4 of 10 h left"


def test_more_hours_give_unplaced_steps_another_try(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", hours=16.0))
    plan(uow)  # stp-1 takes 6 h of 20; stp-2 (16 h) does not fit
    assert uow.read_model.steps["stp-2"].reason == reasons.CAPACITY_TAKEN
    feed(uow, e.window_updated(T0, hours=22.0))
    assert status(uow, "stp-2") == PENDING
    assert uow.read_model.clusters_with_pending() == [e.CLUSTER]
    plan(uow)
    assert (status(uow, "stp-2"), uow.read_model.steps["stp-2"].window_id) == (PROPOSED, "win-1")


def chain_order():  # type: ignore[no-untyped-def]
    """ord-2: a (6 h) then b (6 h): b must end 6 h after a's window ends."""
    steps = [ev.SubmittedStep(step_id=sid, key=sid, process="cnc_milling", material="steel",
                              quantity=1, hours=6.0, after=after)
             for sid, after in (("a", []), ("b", ["a"]))]
    return e.order_submitted(T0, "ord-2", steps=steps)


def test_a_later_end_gives_unplaced_steps_another_try(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.window_opened(T0, "win-2", end_h=50), chain_order())
    plan(uow)  # a on win-1 (ends 48 h); b would need a window ending by 54 h or later
    assert uow.read_model.steps["b"].reason == reasons.NO_WINDOW_BEFORE_DUE
    feed(uow, e.window_updated(T0, "win-2", end_h=60))
    assert (status(uow, "a"), status(uow, "b")) == (PENDING, PENDING)
    plan(uow)
    assert {s: uow.read_model.steps[s].window_id for s in "ab"} == {"a": "win-1", "b": "win-2"}


def test_fewer_hours_an_earlier_end_or_a_new_start_retry_nothing(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", hours=16.0))
    plan(uow)
    for update in (e.window_updated(T0, hours=18.0), e.window_updated(T0, hours=18.0, end_h=40),
                   e.window_updated(T0, hours=18.0, end_h=40, start_h=-4)):
        feed(uow, update)
        assert status(uow, "stp-2") == UNPLACED
    assert uow.read_model.clusters_with_pending() == []


def test_an_update_of_an_unknown_window_stores_it_as_new_capacity(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", hours=16.0))
    plan(uow)
    feed(uow, e.window_updated(T0, "win-7"))
    assert uow.read_model.windows["win-7"].hours == 20.0
    assert status(uow, "stp-2") == PENDING


def test_closing_a_window_withdraws_what_was_proposed_on_it(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.machine_added("mch-2", hourly_rate=200.0),
         e.window_opened(T0, "win-2", machine_id="mch-2"))
    plan(uow)
    assert uow.read_model.steps["stp-1"].window_id == "win-1"
    feed(uow, e.window_closed())
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.excluded_windows) == (PENDING, None, [])
    assert "win-1" not in uow.read_model.windows
    assert free_hours(uow) == {"win-2": 20.0}
    plan(uow)
    assert uow.read_model.steps["stp-1"].window_id == "win-2"


def test_closing_a_window_withdraws_the_siblings_of_the_same_proposal(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.machine_added("mch-2", hourly_rate=200.0),
         e.window_opened(T0, "win-2", machine_id="mch-2"),
         e.order_submitted(T0, "ord-2", step_ids=("a", "b"), hours=12.0))
    plan(uow)  # stp-1 and a on win-1 (18 h), b on win-2
    steps = uow.read_model.steps
    assert {s: steps[s].window_id for s in ("stp-1", "a", "b")} == {
        "stp-1": "win-1", "a": "win-1", "b": "win-2"}
    feed(uow, e.window_closed("win-2", machine_id="mch-2"))
    assert (status(uow, "a"), status(uow, "b")) == (PENDING, PENDING)
    assert status(uow, "stp-1") == PROPOSED  # another order: untouched
    assert free_hours(uow) == {"win-1": 14.0}


def test_a_window_closed_under_a_hold_is_logged_and_the_hold_kept(uow, caplog):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held())
    with caplog.at_level(logging.WARNING):
        feed(uow, e.window_closed(), e.window_closed("win-404"))
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id) == (HELD, "win-1")
    assert "window win-1 closed under held step stp-1" in caplog.text
    assert "window.closed for unknown window win-404" in caplog.text
    assert free_hours(uow) == {"win-1": 0.0}  # kept where the hold sits, nothing free


def test_a_window_closed_after_its_work_was_completed_stays_for_the_siblings(uow, caplog):  # type: ignore[no-untyped-def]
    """Capacity closes a window under accepted hours once their work is completed. The order's
    other step, declined elsewhere, is planned again with the completed one pinned: the window
    it sits on must still be known (its price counts against the budget)."""
    feed(uow, e.machine_added("mch-2", hourly_rate=200.0),
         e.window_opened(T0, "win-2", machine_id="mch-2"),
         e.order_submitted(T0, "ord-2", step_ids=("a", "b"), hours=4.0, budget=5000.0))
    plan(uow)
    steps = uow.read_model.steps
    a_window = steps["a"].window_id
    feed(uow, e.accepted(step_id="a", window_id=a_window, order_id="ord-2", hours=4.0),
         e.completed(step_id="a", window_id=a_window, order_id="ord-2", hours=4.0),
         e.declined(step_id="b", window_id=steps["b"].window_id, order_id="ord-2", hours=4.0))
    with caplog.at_level(logging.WARNING):
        feed(uow, e.window_closed(a_window, machine_id="mch-1" if a_window == "win-1"
                                  else "mch-2"))
    assert "closed under" not in caplog.text  # completed work: nothing amiss
    assert status(uow, "b") == PENDING
    plan(uow)  # b planned again, a still pinned to the kept window
    assert status(uow, "b") == PROPOSED
    assert steps["a"].window_id == a_window and uow.read_model.steps["a"].completed_at
    kept = uow.read_model.windows[a_window]
    assert kept.hours == 4.0  # shrunk to the completed step's hours
    assert free_hours(uow)[a_window] == 0.0
