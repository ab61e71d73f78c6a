"""Match runs plan with the optimiser: re-planning after a decline, pinned (held and accepted)
steps, and the run's bound, gap and seed."""

from services.matcher.domain.readmodel import ACCEPTED, PROPOSED, UNPLACED
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import feed, plan


def test_a_declined_step_is_replanned_by_the_optimiser_elsewhere(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.machine_added("mch-2", hourly_rate=200.0),
         e.window_opened(T0, "win-2", machine_id="mch-2"))
    first = plan(uow)
    assert first.parameters["solver"] == "cpsat" and first.status == "optimal"
    assert first.bound == first.objective and first.gap == 0.0 and first.seed == 0
    feed(uow, e.held(), e.declined())
    second = plan(uow)
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id) == (PROPOSED, "win-2")
    assert second.placed_steps == 1 and second.parameters["solver"] == "cpsat"


def test_accepted_work_is_pinned_and_its_hours_stay_taken(uow):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held(), e.accepted(), e.order_submitted(T0, "ord-2", hours=15.0),
         e.order_submitted(T0, "ord-3", hours=14.0, priority=3))
    run = plan(uow)
    steps = uow.read_model.steps
    assert (steps["stp-1"].status, steps["stp-1"].window_id) == (ACCEPTED, "win-1")
    # 14 h are free on win-1: the optimiser gives them to the priority-3 order
    assert (steps["stp-3"].status, steps["stp-3"].window_id) == (PROPOSED, "win-1")
    assert (steps["stp-2"].status, steps["stp-2"].reason) == (UNPLACED, "capacity_taken")
    assert (run.placed_steps, run.unplaced_steps) == (1, 1)
