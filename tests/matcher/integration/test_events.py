"""Incoming events: each applied once (inbox), unknown types ignored, state kept in the DB."""

import pytest
import sqlalchemy as sa

from shared.events import payloads as ev
from shared.messaging.tables import inbox
from tests.matcher import events as e
from tests.matcher.integration.conftest import count, feed, outbox_events, plan_now

pytestmark = pytest.mark.integration


def test_redelivered_events_change_nothing(client, t0):  # type: ignore[no-untyped-def]
    handler = client.app.state.event_handler
    envelopes = [e.envelope(p) for p in
                 [*e.walkthrough(t0), e.order_submitted(t0, "ord-2", hours=30.0)]]
    for env, payload in envelopes + envelopes:
        handler(env, payload)
    assert count(client.app, "orders") == 2 and count(client.app, "steps") == 2
    assert count(client.app, "windows") == 1
    with client.app.state.runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar_one() == 7
    plan_now(client)  # ord-2's 30 h fit no window: unplaced
    window_opened = envelopes[4]
    assert window_opened[0].type == "window.opened"
    handler(*window_opened)  # applied again, it would give ord-2 another try
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (0, 0)
    assert len(outbox_events(client.app, "step.unplaced")) == 1


def test_the_same_order_under_a_new_event_id_is_kept_once(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *e.walkthrough(t0), e.order_submitted(t0))
    assert count(client.app, "steps") == 1


def test_unhandled_types_are_ignored_without_error(client):  # type: ignore[no-untyped-def]
    done = ev.MatchRunCompleted(match_run_id="r", cluster_id=e.CLUSTER, trigger="manual",
                                status="feasible", placed_steps=0, unplaced_steps=0,
                                objective=None, wall_s=0.0)
    feed(client.app, done)
    assert outbox_events(client.app) == []


def test_an_unverified_factory_counts_as_basic(client, t0):  # type: ignore[no-untyped-def]
    events = e.walkthrough(t0)
    del events[2]  # no factory.updated: declared advanced, verified none
    feed(client.app, *events, e.order_submitted(t0, "ord-2", min_tier="advanced"))
    plan_now(client)
    (unplaced,) = outbox_events(client.app, "step.unplaced")
    assert (unplaced["payload"]["step_id"], unplaced["payload"]["reason"]) == (
        "stp-2", "tier_below_minimum")


def test_reservation_events_for_unknown_steps_are_recorded_and_ignored(client):  # type: ignore[no-untyped-def]
    feed(client.app, e.cluster_created(), e.held(step_id="ghost"))
    assert count(client.app, "steps") == 0 and count(client.app, "inbox") == 2
