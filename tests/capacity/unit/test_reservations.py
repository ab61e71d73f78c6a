"""The reservation state machine: held → accepted | declined | expired | released | rejected;
accepted → released (order cancelled)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from services.capacity.adapters.orm import ACTIVE_STATUSES
from services.capacity.domain.errors import HoldExpired, IllegalTransition, WorkOutOfOrder
from services.capacity.domain.reservations import (
    ACTIVE,
    TRANSITIONS,
    Job,
    PrecedingStep,
    Reservation,
    Status,
    StepHold,
)

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _held() -> Reservation:
    return Reservation(id="r1", order_id="o1", step_id="s1", window_id="w1", factory_id="f1",
                       cluster_id="c1", hours=6.0, price=1080.0, created_at=NOW,
                       expires_at=NOW + timedelta(hours=24))


def test_a_held_reservation_can_be_accepted() -> None:
    r = _held()
    r.accept(now=NOW + timedelta(hours=1))
    assert r.status is Status.ACCEPTED
    assert r.updated_at == NOW + timedelta(hours=1)


def test_a_held_reservation_can_be_declined_with_a_reason() -> None:
    r = _held()
    r.decline("machine down", now=NOW)
    assert (r.status, r.reason) == (Status.DECLINED, "machine down")


def test_an_expired_hold_cannot_be_accepted() -> None:
    r = _held()
    with pytest.raises(HoldExpired):
        r.accept(now=NOW + timedelta(hours=24))
    assert r.status is Status.HELD


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.HELD])
def test_only_held_reservations_move_except_accepted_to_released(status: Status) -> None:
    r = _held()
    r.status = status
    with pytest.raises(IllegalTransition):
        r.accept(now=NOW)
    with pytest.raises(IllegalTransition):
        r.decline("no", now=NOW)
    with pytest.raises(IllegalTransition):
        r.expire(now=NOW + timedelta(days=2))
    for target in Status:
        if (status, target) == (Status.ACCEPTED, Status.RELEASED):
            continue
        with pytest.raises(IllegalTransition):
            r.transition(target, now=NOW)
    assert r.status is status


def test_an_accepted_reservation_can_be_released() -> None:
    r = _held()
    r.accept(now=NOW)
    r.release("order_cancelled", now=NOW + timedelta(hours=2))
    assert (r.status, r.reason, r.updated_at) == (
        Status.RELEASED, "order_cancelled", NOW + timedelta(hours=2))
    assert not r.is_active


def test_a_hold_expires_at_its_time_not_before() -> None:
    r = _held()
    with pytest.raises(IllegalTransition):
        r.expire(now=r.expires_at - timedelta(seconds=1))
    assert r.status is Status.HELD
    r.expire(now=r.expires_at)
    assert r.status is Status.EXPIRED


@pytest.mark.parametrize("target", sorted(TRANSITIONS[Status.HELD]))
def test_held_moves_to_each_terminal_status(target: Status) -> None:
    r = _held()
    r.transition(target, now=NOW)
    assert r.status is target
    assert not r.is_active or target is Status.ACCEPTED


def test_held_cannot_become_held_again() -> None:
    with pytest.raises(IllegalTransition):
        _held().transition(Status.HELD, now=NOW)


def test_the_stored_active_predicate_names_exactly_the_active_statuses() -> None:
    """Queries repeat the partial index's predicate literally (so SQLite uses the index); it
    must mean what the domain means by active."""
    assert set(re.findall(r"'(\w+)'", ACTIVE_STATUSES)) == {s.value for s in ACTIVE}


def _accepted() -> Reservation:
    r = _held()
    r.accept(now=NOW)
    return r


def test_accepted_hours_are_started_then_completed_and_stay_accepted() -> None:
    r = _accepted()
    assert r.production == "not_started"
    r.start(now=NOW + timedelta(hours=2))
    assert (r.status, r.production, r.started_at) == (
        Status.ACCEPTED, "started", NOW + timedelta(hours=2))
    r.complete(now=NOW + timedelta(hours=9))
    assert (r.status, r.production, r.completed_at) == (
        Status.ACCEPTED, "completed", NOW + timedelta(hours=9))
    assert r.updated_at == NOW  # the status last changed at the acceptance


def test_completed_without_a_reported_start_started_then() -> None:
    r = _accepted()
    r.complete(now=NOW + timedelta(hours=9))
    assert r.started_at == r.completed_at == NOW + timedelta(hours=9)


def test_work_is_started_and_completed_once() -> None:
    r = _accepted()
    r.start(now=NOW)
    with pytest.raises(IllegalTransition, match="production of reservation r1 started at"):
        r.start(now=NOW + timedelta(hours=1))
    r.complete(now=NOW + timedelta(hours=2))
    for report in (r.start, r.complete):
        with pytest.raises(IllegalTransition, match="r1 was completed at"):
            report(now=NOW + timedelta(hours=3))
    assert r.completed_at == NOW + timedelta(hours=2)


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.ACCEPTED])
def test_only_accepted_hours_go_into_production(status: Status) -> None:
    r = _held()
    r.status = status
    for report in (r.start, r.complete):
        with pytest.raises(IllegalTransition, match=f"r1 is {status}; only accepted hours"):
            report(now=NOW)
    assert (r.started_at, r.completed_at, r.production) == (None, None, None)


def test_released_hours_keep_the_record_of_work_started() -> None:
    r = _accepted()
    r.start(now=NOW)
    r.release("order_cancelled", now=NOW + timedelta(hours=1))
    assert (r.status, r.production) == (Status.RELEASED, "started")


def _coat() -> Reservation:
    """Accepted hours for step coat, which comes after cut and mill."""
    r = _accepted()
    r.job = Job(title="Brackets", process="coating", material=None, quantity=500, due=NOW,
                step="coat", after=(PrecedingStep("s-cut", "cut"), PrecedingStep("s-mill", "mill")))
    return r


def test_work_waits_for_every_step_it_comes_after() -> None:
    r = _coat()
    assert r.awaited_steps(()) == ["cut", "mill"]
    assert r.awaited_steps({"s-mill"}) == ["cut"]
    for report in (r.start, r.complete):
        with pytest.raises(WorkOutOfOrder, match="step coat of order o1 comes after cut, mill: "):
            report(now=NOW)
        with pytest.raises(WorkOutOfOrder, match="comes after mill: the work there is not"):
            report(now=NOW, completed_steps={"s-cut", "s-other"})
    assert (r.started_at, r.completed_at, r.production) == (None, None, "not_started")
    assert r.awaited_steps({"s-cut", "s-mill"}) == []
    r.start(now=NOW, completed_steps={"s-cut", "s-mill"})
    assert r.awaited_steps(()) == []  # nothing to wait for once started
    r.complete(now=NOW + timedelta(hours=6))  # checked when it started
    assert r.production == "completed"


def test_hours_that_ended_wait_for_nothing() -> None:
    r = _coat()
    r.release("order_cancelled", now=NOW)
    assert r.awaited_steps(()) == []


def test_the_steps_without_factory_are_the_others_given_up_and_not_held_again() -> None:
    r = _coat()  # step s1 of order o1
    latest = [StepHold("s1", "coat", Status.ACCEPTED), StepHold("s-cut", "cut", Status.DECLINED),
              StepHold("s-mill", "mill", Status.HELD),
              StepHold("s-drill", "drill", Status.EXPIRED),
              StepHold("s-old", None, Status.RELEASED)]  # named no step: nothing to say
    assert r.steps_without_factory(latest) == ["cut", "drill"]
    assert _held().steps_without_factory(latest) == ["cut", "drill"]  # before accepting too
    r.start(now=NOW, completed_steps={"s-cut", "s-mill"})
    assert r.steps_without_factory(latest) == ["cut", "drill"]  # under way: still said
    r.complete(now=NOW + timedelta(hours=6))
    assert r.steps_without_factory(latest) == []  # its own work is done
    declined = _held()
    declined.decline("laser down", now=NOW)
    assert declined.steps_without_factory(latest) == []  # hours no longer held


@pytest.mark.parametrize("job", [None, Job(title="Brackets", process="coating", material=None,
                                           quantity=500, due=NOW)])
def test_a_job_that_names_no_earlier_steps_starts_at_once(job: Job | None) -> None:
    r = _accepted()
    r.job = job
    assert r.awaited_steps(()) == []
    r.start(now=NOW)
    assert r.production == "started"
