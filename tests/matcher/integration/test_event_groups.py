"""Events applied together (``event_handler.many``, one transaction, with their positions)
leave the read model and the stored offsets exactly as one by one, and wake the planning loop
only after the group is committed."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.matcher.bootstrap import create_app
from shared.events import decode
from shared.events import payloads as ev
from shared.messaging.partitions import RecordPosition
from tests.matcher import events as e
from tests.matcher.integration.conftest import (
    count,
    feed,
    free_hours,
    outbox_events,
    plan_now,
    settings_for,
    steps,
)

pytestmark = pytest.mark.integration


def _group(t0) -> list[tuple[Any, Any, RecordPosition]]:  # type: ignore[no-untyped-def]
    payloads = [*e.walkthrough(t0), e.window_updated(t0, hours=10.0),
                e.window_updated(t0, hours=12.0, end_h=30)]
    envelopes = [e.envelope(p) for p in payloads]
    group = [(*env, RecordPosition("capacity.v1", 0, n)) for n, env in enumerate(envelopes)]
    redelivered = (*envelopes[-2], RecordPosition("capacity.v1", 0, len(group)))
    return [*group, redelivered]


def _offsets(app: FastAPI) -> list[tuple[Any, ...]]:
    with app.state.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT topic, partition, \"offset\" FROM consumer_offsets ORDER BY topic, partition"))]


def test_a_group_leaves_what_one_by_one_leaves(client: TestClient, t0, tmp_path) -> None:  # type: ignore[no-untyped-def]
    woken: list[tuple[str, int]] = []
    group = _group(t0)
    handler = client.app.state.event_handler
    handler._on_applied = lambda cluster: woken.append((cluster, len(steps(client.app))))
    handler.many(group)
    assert woken == [(e.CLUSTER, len(steps(client.app)))]  # once, after the commit

    with TestClient(create_app(settings_for(f"sqlite:///{tmp_path / 'alone.db'}"))) as alone:
        for envelope, payload, position in group:
            alone.app.state.event_handler(envelope, payload, position=position)
        assert steps(client.app) == steps(alone.app)
        assert free_hours(client.app) == free_hours(alone.app) == {"win-1": 12.0}
        assert _offsets(client.app) == _offsets(alone.app) == [("capacity.v1", 0, len(group) - 1)]
        assert plan_now(client)["placed_steps"] == plan_now(alone)["placed_steps"] > 0


def test_a_group_reads_the_steps_it_names_with_one_query(client: TestClient, t0) -> None:  # type: ignore[no-untyped-def]
    handler = client.app.state.event_handler
    ids = ("stp-a", "stp-b", "stp-c")
    setup = [*e.walkthrough(t0)[:-1], e.order_submitted(t0, step_ids=ids, hours=2.0)]
    for payload in setup:
        handler(*e.envelope(payload))
    assert plan_now(client)["placed_steps"] == 3
    statements: list[str] = []
    engine = client.app.state.runtime.engine

    def listener(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        if "FROM steps" in statement:
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        handler.many([(*e.envelope(e.held(step_id=s, hours=2.0)), RecordPosition(
            "capacity.v1", 0, n)) for n, s in enumerate(ids)])
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1, statements
    assert {s: v["status"] for s, v in steps(client.app).items()} == dict.fromkeys(ids, "held")


def test_a_step_read_ahead_and_then_saved_is_read_as_saved(client: TestClient, t0) -> None:  # type: ignore[no-untyped-def]
    for payload in e.walkthrough(t0):
        client.app.state.event_handler(*e.envelope(payload))
    with client.app.state.runtime.uow_factory() as uow:
        rm = uow.read_model
        rm.prefetch_steps(["stp-1", "stp-unknown"])
        step = rm.get_step("stp-1")
        assert step is not None and step.status == "pending"
        step.hold(window_id="win-1", price=10.0)
        rm.save_step(step)
        again = rm.get_step("stp-1")
        assert again is not None and (again.status, again.window_id) == ("held", "win-1")
        assert rm.get_step("stp-unknown") is None


def test_a_group_claims_and_reads_nothing_for_its_own_runs(client: TestClient, t0) -> None:  # type: ignore[no-untyped-def]
    """The proposals and unplaced steps of a run this service stored, read back from the
    topic, leave no inbox row and read no step (the run applied them when it was made); their
    offsets are still stored. The same events of a run it does not know are applied."""
    app = client.app
    feed(app, *e.walkthrough(t0)[:-1], e.order_submitted(t0, step_ids=("stp-a", "stp-b")),
         e.order_submitted(t0, "ord-2", step_ids=("stp-big",), hours=500.0))
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (2, 1)
    own = [decode(json.dumps(body).encode()) for body in outbox_events(app)
           if body["type"] in ("allocation.proposed", "step.unplaced")]
    assert {env.type for env, _ in own} == {"allocation.proposed", "step.unplaced"}
    inbox_before, steps_before = count(app, "inbox"), steps(app)
    statements: list[str] = []

    def listener(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        if "FROM steps" in statement or "inbox" in statement:
            statements.append(statement)

    group = [(env, p, RecordPosition("matcher.v1", 0, n)) for n, (env, p) in enumerate(own)]
    engine = app.state.runtime.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        app.state.event_handler.many(group)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert statements == []
    assert count(app, "inbox") == inbox_before
    assert steps(app) == steps_before
    assert ("matcher.v1", 0, len(group) - 1) in _offsets(app)

    # another instance's run (not stored here): claimed and applied
    other = [(envelope, p.model_copy(update={"match_run_id": "run-elsewhere"}))
             for envelope, p in own if isinstance(p, ev.StepUnplaced)]
    app.state.event_handler.many([(env, p, RecordPosition("matcher.v1", 1, n))
                                  for n, (env, p) in enumerate(other)])
    assert count(app, "inbox") == inbox_before + len(other)
