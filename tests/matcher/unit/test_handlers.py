"""Event handlers and match runs against the in-memory unit of work."""

from datetime import timedelta

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.model import Parameters
from services.matcher.domain.readmodel import HELD, PENDING, PROPOSED, UNPLACED
from services.matcher.service_layer import planning, views
from services.matcher.service_layer.handlers import handle_event
from shared.events import payloads as ev
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import NOW, OPTIONS, feed, plan


def test_the_walk_through_builds_the_read_model(uow):  # type: ignore[no-untyped-def]
    rm = uow.read_model
    assert rm.factories["fac-1"].usable_tier == "advanced"
    assert rm.windows["win-1"].hours == 20.0
    assert rm.steps["stp-1"].status == PENDING
    assert uow.commits == 6


def test_an_event_applied_twice_changes_nothing_the_second_time(uow):  # type: ignore[no-untyped-def]
    env, payload = e.envelope(e.order_submitted(T0, "ord-2"))
    assert handle_event(env, payload, uow=uow) is True
    assert handle_event(env, payload, uow=uow) is False
    assert uow.commits == 7


def test_unhandled_event_types_are_ignored(uow):  # type: ignore[no-untyped-def]
    done = ev.MatchRunCompleted(match_run_id="r", cluster_id=e.CLUSTER, trigger="manual",
                                status="feasible", placed_steps=0, unplaced_steps=0,
                                objective=None, wall_s=0.0)
    assert handle_event(*e.envelope(done), uow=uow) is False


def test_the_work_on_accepted_hours_leaves_the_step_pinned(uow):  # type: ignore[no-untyped-def]
    run = plan(uow)
    step = uow.read_model.steps["stp-1"]
    ref = {"cluster_id": e.CLUSTER, "order_id": "ord-1", "step_id": "stp-1",
           "window_id": step.window_id, "hours": 6.0, "reservation_id": "res-1",
           "factory_id": "fac-1"}
    feed(uow, ev.ReservationAccepted(**ref, factory_name="Haigang", price=1085.58))
    epoch = uow.read_model.epochs.get(e.CLUSTER)
    feed(uow, ev.ReservationStarted(**(ref | {"window_id": "win-9"}), started_at=NOW))
    assert uow.read_model.steps["stp-1"].started_at is None  # not where it is accepted
    feed(uow, ev.ReservationStarted(**ref, started_at=NOW))
    assert uow.read_model.steps["stp-1"].started_at == NOW  # in production for the operator
    assert uow.read_model.epochs.get(e.CLUSTER) == epoch  # plans stay valid
    done = NOW + timedelta(hours=6)
    elsewhere = ev.ReservationCompleted(**(ref | {"window_id": "win-9"}), started_at=NOW,
                                        completed_at=done)
    feed(uow, elsewhere)  # not the window the step is accepted on
    assert uow.read_model.steps["stp-1"].completed_at is None
    feed(uow, ev.ReservationCompleted(**ref, started_at=NOW, completed_at=done))
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.match_run_id) == ("accepted", "win-1", run.id)
    assert (step.started_at, step.completed_at) == (NOW, done)  # counted as done
    assert uow.read_model.epochs.get(e.CLUSTER) == epoch  # plans stay valid


def test_a_completion_heard_without_its_start_starts_the_step_too(uow):  # type: ignore[no-untyped-def]
    plan(uow)
    step = uow.read_model.steps["stp-1"]
    feed(uow, e.accepted(window_id=step.window_id),
         e.completed(window_id=step.window_id, at=NOW + timedelta(hours=6)))
    step = uow.read_model.steps["stp-1"]
    assert (step.started_at, step.completed_at) == (NOW, NOW + timedelta(hours=6))


def test_a_run_proposes_the_step_and_writes_the_events(uow):  # type: ignore[no-untyped-def]
    run = plan(uow)
    assert (run.placed_steps, run.unplaced_steps, run.trigger) == (1, 0, "manual")
    assert uow.types() == ["allocation.proposed", "match_run.completed"]
    proposed = uow.published[0]
    assert proposed.key == e.CLUSTER and proposed.correlation_id == "ord-1"
    (alloc,) = proposed.payload["allocations"]
    assert (alloc["window_id"], alloc["hours"]) == ("win-1", 6.0)
    assert alloc["price"] == pytest.approx(6 * 180 + 2 * 2.7887, abs=0.01)
    assert uow.published[1].correlation_id == run.id
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.match_run_id) == (PROPOSED, "win-1", run.id)
    _, _, snapshot = uow.runs.runs[run.id]
    assert [o["id"] for o in snapshot["orders"]] == ["ord-1"]
    assert snapshot["windows"][0]["hours"] == 20.0


def test_an_unknown_cluster_is_refused_and_nothing_is_written(uow):  # type: ignore[no-untyped-def]
    with pytest.raises(planning.UnknownCluster):
        plan(uow, "nowhere")
    assert uow.published == [] and uow.runs.runs == {}


def test_rejection_replans_elsewhere(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.window_opened(T0, "win-2", hours=10))
    first = plan(uow)
    assert uow.read_model.steps["stp-1"].window_id == "win-1"  # same cost: the smaller id
    feed(uow, e.rejected(run_id=first.id))
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.excluded_windows) == (PENDING, ["win-1"])
    plan(uow)
    assert uow.read_model.steps["stp-1"].window_id == "win-2"


def test_rejection_withdraws_the_siblings_of_the_same_proposal(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", step_ids=("a", "b")))
    run = plan(uow)
    feed(uow, e.rejected(step_id="a", order_id="ord-2", run_id=run.id))
    steps = uow.read_model.steps
    assert (steps["a"].status, steps["a"].excluded_windows) == (PENDING, ["win-1"])
    assert (steps["b"].status, steps["b"].excluded_windows) == (PENDING, [])
    assert steps["stp-1"].status == PROPOSED  # another order: untouched
    feed(uow, e.rejected(step_id="b", order_id="ord-2", run_id=run.id, reason="order_incomplete"))
    assert (steps["b"].status, steps["b"].excluded_windows) == (PENDING, [])


def test_a_sibling_rejected_as_order_incomplete_keeps_its_window(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", step_ids=("a", "b")))
    run = plan(uow)
    feed(uow, e.rejected(step_id="b", order_id="ord-2", run_id=run.id, reason="order_incomplete"))
    steps = uow.read_model.steps
    assert (steps["b"].status, steps["b"].excluded_windows) == (PENDING, [])
    assert (steps["a"].status, steps["a"].excluded_windows) == (PENDING, [])
    plan(uow)
    assert (steps["a"].window_id, steps["b"].window_id) == ("win-1", "win-1")


def test_a_refused_second_proposal_leaves_a_held_step_and_its_window_alone(uow):  # type: ignore[no-untyped-def]
    first = plan(uow)
    feed(uow, e.held())
    feed(uow, e.rejected(run_id=f"{first.id}-again", reason=(
        "already_reserved: step stp-1 has held reservation res-stp-1")))
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.excluded_windows) == (HELD, "win-1", [])


def test_held_and_accepted_steps_are_pinned_and_hold_their_hours(uow):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held(), e.order_submitted(T0, "ord-2", hours=15.0))
    assert uow.read_model.steps["stp-1"].status == HELD
    run = plan(uow)
    assert (run.placed_steps, run.unplaced_steps) == (0, 1)
    step = uow.read_model.steps["stp-2"]
    assert (step.status, step.reason) == (UNPLACED, reasons.CAPACITY_TAKEN)
    assert uow.published[-2].type == "step.unplaced"
    assert uow.published[-2].payload["reason"] == reasons.CAPACITY_TAKEN


def test_a_decline_frees_the_hours_and_excludes_the_window(uow):  # type: ignore[no-untyped-def]
    plan(uow)
    feed(uow, e.held(), e.declined())
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.excluded_windows) == (PENDING, ["win-1"])
    run = plan(uow)
    assert uow.read_model.steps["stp-1"].reason == reasons.CAPACITY_TAKEN
    assert run.unplaced_steps == 1


def test_new_capacity_reopens_unplaced_steps(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", hours=30.0))
    plan(uow)
    assert uow.read_model.steps["stp-2"].status == UNPLACED
    assert uow.read_model.clusters_with_pending() == []
    feed(uow, e.window_opened(T0, "win-3", hours=40.0))
    assert uow.read_model.steps["stp-2"].status == PENDING
    assert uow.read_model.clusters_with_pending() == [e.CLUSTER]
    plan(uow)
    assert uow.read_model.steps["stp-2"].window_id == "win-3"


def test_plan_pending_plans_only_clusters_with_pending_steps(uow):  # type: ignore[no-untyped-def]
    runs = planning.plan_pending(uow=uow, options=OPTIONS)
    assert [r.cluster_id for r in runs] == [e.CLUSTER]
    assert planning.plan_pending(uow=uow, options=OPTIONS) == []


def test_explanation_of_an_unplaced_step(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", min_tier="excellent"))
    plan(uow)
    x = views.explain_step("stp-2", uow=uow, params=Parameters(), now=NOW)
    assert (x.status, x.reason, x.buyer_firm_id) == (UNPLACED, reasons.TIER_BELOW_MINIMUM,
                                                     "firm-b1")
    assert [(s.stage, s.candidates) for s in x.funnel][-2:] == [("material", 1), ("tier", 0)]
    assert views.explain_step("nope", uow=uow, params=Parameters(), now=NOW) is None


def test_explanation_of_a_placed_step_counts_its_own_hours_as_free(uow):  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", hours=14.0))
    plan(uow)  # stp-1 (6 h) and stp-2 (14 h) fill win-1
    x = views.explain_step("stp-2", uow=uow, params=Parameters(), now=NOW)
    assert x.status == PROPOSED and x.reason is None
    assert x.funnel[-1].stage == "max_factories" and x.funnel[-1].candidates == 1


def test_runs_are_listed_newest_first_with_a_cursor(uow):  # type: ignore[no-untyped-def]
    ids = [planning.plan_cluster(e.CLUSTER, uow=uow, options=OPTIONS, trigger="manual",
                                 now=NOW + timedelta(minutes=i)).id for i in range(3)]
    page, cursor = views.list_runs(uow=uow, cluster_id=None, cursor=None, limit=2)
    assert [r.id for r in page] == ids[:0:-1] and cursor
    page, cursor = views.list_runs(uow=uow, cluster_id=None, cursor=cursor, limit=2)
    assert [r.id for r in page] == ids[:1] and cursor is None
    with pytest.raises(views.InvalidCursor):
        views.list_runs(uow=uow, cluster_id=None, cursor="!!", limit=2)
