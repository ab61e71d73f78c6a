"""A match run solves outside the cluster's lock (events keep being applied meanwhile) and
writes its plan only if nothing it depends on changed; else it reads and solves again, and the
last try holds the lock throughout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.matcher.domain.readmodel import CANCELLED, PENDING, PROPOSED, UNPLACED
from services.matcher.service_layer import planning
from services.matcher.service_layer.handlers import handle_event
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import feed, plan
from tests.matcher.unit.fakes import FakeUnitOfWork


def solving_with(monkeypatch: pytest.MonkeyPatch, uow: FakeUnitOfWork,
                 meanwhile: Callable[[int], None]) -> list[int]:
    """Runs ``meanwhile(call)`` inside every solve; answers the clusters locked so far at each
    call (the lock is taken when a run writes, or before it reads on its last try)."""
    locks_at_call: list[int] = []
    real = planning.solve_instance

    def solve(instance: Any, options: Any) -> Any:
        locks_at_call.append(len(uow.read_model.locked))
        meanwhile(len(locks_at_call))
        return real(instance, options)

    monkeypatch.setattr(planning, "solve_instance", solve)
    return locks_at_call


def test_a_new_order_while_solving_is_left_for_the_next_run(uow, monkeypatch):  # type: ignore[no-untyped-def]
    def submit(call: int) -> None:
        if call == 1:
            feed(uow, e.order_submitted(T0, "ord-2"))

    calls = solving_with(monkeypatch, uow, submit)
    run = plan(uow)
    assert len(calls) == 1 and run.placed_steps == 1
    assert uow.read_model.steps["stp-1"].status == PROPOSED
    assert uow.read_model.steps["stp-2"].status == PENDING  # the next run's


def test_a_cancellation_while_solving_makes_the_run_read_again(uow, monkeypatch):  # type: ignore[no-untyped-def]
    def cancel(call: int) -> None:
        if call == 1:
            feed(uow, e.order_cancelled())

    calls = solving_with(monkeypatch, uow, cancel)
    run = plan(uow)
    assert len(calls) == 2 and (run.placed_steps, run.unplaced_steps) == (0, 0)
    assert uow.read_model.steps["stp-1"].status == CANCELLED
    assert "allocation.proposed" not in uow.types()


def test_a_window_closed_while_solving_is_not_planned_on(uow, monkeypatch):  # type: ignore[no-untyped-def]
    def close(call: int) -> None:
        if call == 1:
            feed(uow, e.window_closed())

    calls = solving_with(monkeypatch, uow, close)
    plan(uow)
    step = uow.read_model.steps["stp-1"]
    assert len(calls) == 2 and (step.status, step.window_id) == (UNPLACED, None)
    assert "win-1" not in uow.read_model.windows


def test_a_step_of_the_batch_changed_by_a_plan_keeping_event_is_caught(uow, monkeypatch):  # type: ignore[no-untyped-def]
    def touch(call: int) -> None:
        if call == 1:  # as a rejection of a withdrawn step would: same epoch, another step
            uow.read_model.steps["stp-1"].excluded_windows.append("win-9")

    calls = solving_with(monkeypatch, uow, touch)
    plan(uow)
    assert len(calls) == 2 and uow.read_model.steps["stp-1"].status == PROPOSED


def test_after_three_changed_tries_the_run_holds_the_lock_throughout(uow, monkeypatch):  # type: ignore[no-untyped-def]
    def churn(call: int) -> None:
        uow.read_model.bump_plan_epoch(e.CLUSTER)  # e.g. capacity changing all the time

    calls = solving_with(monkeypatch, uow, churn)
    run = plan(uow)
    # three writes refused (each took the lock to check), then locked before reading
    assert [n - calls[0] for n in calls] == [0, 1, 2, 4]
    assert run.placed_steps == 1 and uow.read_model.steps["stp-1"].status == PROPOSED
    assert uow.types().count("match_run.completed") == 1


def test_a_committed_run_bumps_the_epoch_so_a_concurrent_run_reads_again(uow):  # type: ignore[no-untyped-def]
    before = uow.read_model.plan_epoch(e.CLUSTER)
    plan(uow)
    assert uow.read_model.plan_epoch(e.CLUSTER) == before + 1
    for envelope in list(uow.published):  # the run's own events, read back from the topic
        handle_event(envelope, envelope.parsed(), uow=uow)
    assert uow.read_model.plan_epoch(e.CLUSTER) == before + 1
    feed(uow, e.order_submitted(T0, "ord-2"), e.held())  # keep plans: no bump
    assert uow.read_model.plan_epoch(e.CLUSTER) == before + 1
    feed(uow, e.window_opened(T0, "win-2"))  # capacity changed: bump
    assert uow.read_model.plan_epoch(e.CLUSTER) == before + 2
