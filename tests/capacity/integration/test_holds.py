"""allocation.proposed through app.state.event_handler: all-or-nothing, idempotent, and the
invariant held + accepted ≤ offered under concurrent proposals."""

from __future__ import annotations

import random
import time
from collections import Counter
from functools import partial

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from services.capacity.adapters.unit_of_work import SqlAlchemyCapacityUnitOfWork
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate
from tests.capacity.integration.flows import (
    SUP,
    build_site,
    cancel,
    count,
    create_cluster,
    events,
    feed,
    proposal,
    race,
    window,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    return build_site(client, windows=4, hours=20.0)


def test_the_same_envelope_twice_holds_once(app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    envelope, payload = proposal("ord-1", ("stp-1", site.window_ids[0], 6.0))
    app.state.event_handler(envelope, payload)
    app.state.event_handler(envelope, payload)
    assert count(app, "reservations") == 1
    assert len(events(app, "reservation.held")) == 1
    assert window(client, site)["held_hours"] == 6.0
    assert count(app, "inbox") == 1


def test_a_misfit_holds_nothing_and_rejects_every_step(app: FastAPI, client: TestClient,
                                                       site) -> None:  # type: ignore[no-untyped-def]
    w0, w1 = site.window_ids[:2]
    feed(app, "ord-0", ("stp-0", w1, 16.0))
    cause = feed(app, "ord-1", ("stp-1", w0, 6.0), ("stp-2", w1, 6.0), ("stp-3", "win_nope", 1.0))
    assert count(app, "reservations") == 1
    assert (window(client, site, 0)["held_hours"], window(client, site, 1)["held_hours"]) == (
        0.0, 16.0)
    rejected = events(app, "reservation.rejected")
    assert [(e.payload["step_id"], e.payload["reason"]) for e in rejected] == [
        ("stp-1", "order_incomplete"),
        ("stp-2", f"capacity_exceeded: window {w1} has 4.0 h free, 6.0 h asked"),
        ("stp-3", "unknown_window"),
    ]
    assert all(e.correlation_id == "ord-1" and e.causation_id == str(cause.event_id)
               for e in rejected)
    assert all(e.payload["match_run_id"] == "run-1" for e in rejected)


def test_a_held_step_is_not_held_twice(app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    feed(app, "ord-1", ("stp-1", site.window_ids[1], 6.0))
    assert count(app, "reservations") == 1
    [rejected] = events(app, "reservation.rejected")
    assert rejected.payload["reason"].startswith("already_reserved: step stp-1")
    assert window(client, site, 1)["held_hours"] == 0.0


def test_a_stale_version_loses_the_compare_and_set(app: FastAPI, client: TestClient,
                                                  site) -> None:  # type: ignore[no-untyped-def]
    wid = site.window_ids[0]
    uow = SqlAlchemyCapacityUnitOfWork(app.state.runtime.session_factory)
    with uow:
        stale = uow.windows.get(wid)
    with uow:
        fresh = uow.windows.get(wid)
        fresh.hold(5.0)
        uow.windows.save_hours(fresh)
        uow.commit()
    stale.hold(18.0)
    with pytest.raises(ConcurrentUpdate), uow:
        uow.windows.save_hours(stale)
        uow.commit()
    assert (window(client, site)["held_hours"], window(client, site)["version"]) == (5.0, 1)


def test_the_database_refuses_more_held_than_offered(app: FastAPI, site) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sa.exc.IntegrityError), app.state.runtime.engine.begin() as conn:
        conn.execute(sa.text("UPDATE windows SET held_hours = 21 WHERE id = :id"),
                     {"id": site.window_ids[0]})


def _fire(app: FastAPI, jobs: list[list[tuple]]) -> list[BaseException]:
    """Each batch of proposals in its own thread, all at once (``race``)."""

    def feed_all(batch: list[tuple]) -> None:
        for order_id, allocs in batch:
            feed(app, order_id, *allocs)

    return race(partial(feed_all, batch) for batch in jobs)


def test_concurrent_proposals_never_overbook(app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    """16 threads × 10 single-step orders of 3 h on four 20-h windows."""
    jobs = [[(f"ord-{t}-{n}", [(f"stp-{t}-{n}", site.window_ids[(t + n) % 4], 3.0)])
             for n in range(10)] for t in range(16)]
    assert _fire(app, jobs) == []
    windows = client.get(f"/v1/machines/{site.machine_id}/windows", headers=SUP).json()["items"]
    for w in windows:
        assert w["held_hours"] + w["accepted_hours"] <= w["hours"]
        assert w["held_hours"] == 18.0  # six 3-h holds fit in 20 h, the seventh does not
    held, rejected = events(app, "reservation.held"), events(app, "reservation.rejected")
    assert len(held) == count(app, "reservations") == 24
    assert len(held) + len(rejected) == 160
    assert all(e.payload["reason"].startswith("capacity_exceeded") for e in rejected)
    per_window = Counter(e.payload["window_id"] for e in held)
    assert per_window == {wid: 6 for wid in site.window_ids}
    assert count(app, "inbox") == 160


def test_concurrent_two_step_orders_are_all_or_nothing(app: FastAPI, client: TestClient,
                                                       site) -> None:  # type: ignore[no-untyped-def]
    """8 threads × 6 orders, each 2 steps of 4 h on two different windows."""
    w = site.window_ids
    jobs = [[(f"ord-{t}-{n}", [(f"stp-{t}-{n}-a", w[(t + n) % 4], 4.0),
                               (f"stp-{t}-{n}-b", w[(t + n + 1) % 4], 4.0)])
             for n in range(6)] for t in range(8)]
    assert _fire(app, jobs) == []
    held = Counter(e.correlation_id for e in events(app, "reservation.held"))
    rejected = Counter(e.correlation_id for e in events(app, "reservation.rejected"))
    assert set(held).isdisjoint(rejected)
    assert all(n == 2 for n in held.values()) and all(n == 2 for n in rejected.values())
    assert len(held) + len(rejected) == 48
    windows = client.get(f"/v1/machines/{site.machine_id}/windows", headers=SUP).json()["items"]
    assert all(x["held_hours"] <= x["hours"] for x in windows)
    assert sum(x["held_hours"] for x in windows) == 8.0 * len(held)


THREADS, PER_THREAD, OFFERED = 32, 10, 40.0


def test_many_concurrent_holds_on_one_window(app: FastAPI, client: TestClient,
                                             database_url: str) -> None:
    """32 threads × 10 single-step orders of 1–3 h, all on ONE 40-h window."""
    create_cluster(client)
    wid = build_site(client, windows=1, hours=OFFERED).window_ids[0]
    rng = random.Random(20261201)
    asked = {f"ord-{t}-{n}": float(rng.randint(1, 3))
             for t in range(THREADS) for n in range(PER_THREAD)}
    jobs = [[(f"ord-{t}-{n}", [(f"stp-{t}-{n}", wid, asked[f"ord-{t}-{n}"])])
             for n in range(PER_THREAD)] for t in range(THREADS)]
    started = time.perf_counter()
    assert _fire(app, jobs) == []
    elapsed = time.perf_counter() - started

    held = {e.correlation_id: e.payload["hours"] for e in events(app, "reservation.held")}
    rejected = {e.correlation_id: e.payload for e in events(app, "reservation.rejected")}
    # every attempt ended exactly once: held or rejected
    assert len(held) + len(rejected) == len(asked) == THREADS * PER_THREAD
    assert set(held) | set(rejected) == set(asked) and not set(held) & set(rejected)
    assert all(r["reason"].startswith("capacity_exceeded") for r in rejected.values())
    # never overbooked, and the books balance exactly
    with app.state.runtime.engine.connect() as conn:
        w = conn.execute(sa.text("SELECT hours, held_hours, accepted_hours FROM windows "
                                 "WHERE id = :id"), {"id": wid}).one()
        reserved = conn.execute(sa.text("SELECT COALESCE(SUM(hours), 0), COUNT(*) FROM "
                                        "reservations WHERE window_id = :id AND status = 'held'"),
                                {"id": wid}).one()
    overbooked = max(0.0, w.held_hours + w.accepted_hours - w.hours)
    assert overbooked == 0 and w.hours == OFFERED
    assert reserved[0] == w.held_hours == sum(held.values())
    assert reserved[1] == len(held)
    assert all(held[o] == asked[o] for o in held)
    # free hours only shrink, so every rejected ask was larger than what is free now
    assert w.hours - w.held_hours < min(r["hours"] for r in rejected.values())
    assert count(app, "inbox") == len(asked)
    backend = make_url(database_url).get_backend_name()
    print(f"HOLD-CONCURRENCY backend={backend} threads={THREADS} attempts={len(asked)} "
          f"held={len(held)} rejected={len(rejected)} hours_offered={w.hours:g} "
          f"hours_held={w.held_hours:g} overbooked={overbooked:g} elapsed_s={elapsed:.2f}")


def reservation_plans(app: FastAPI, action) -> list[str]:  # type: ignore[no-untyped-def]
    """The query plan of each SELECT on reservations that ``action()`` runs."""
    engine = app.state.runtime.engine
    lookups: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM reservations" in statement:
            lookups.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert lookups
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":  # a tiny table: make any usable index win
            conn.exec_driver_sql("SET enable_seqscan = off")
        return [" ".join(str(row[-1]) for row in conn.exec_driver_sql(
            f"EXPLAIN {'QUERY PLAN ' if engine.dialect.name == 'sqlite' else ''}{statement}",
            parameters).all()) for statement, parameters in lookups]


def test_a_hold_finds_the_steps_reservations_through_the_active_step_index(
        app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    """Not a scan of every active reservation (which grows with the cluster's work): SQLite
    uses the partial index only if the query repeats its predicate with literals."""
    for plan in reservation_plans(app, lambda: feed(app, "ord-1",
                                                    ("stp-1", site.window_ids[0], 6.0))):
        assert "uq_reservations_active_step" in plan, plan


def test_a_cancellation_finds_the_orders_reservations_through_the_order_index(
        app: FastAPI, client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    """Not through the status index, i.e. among every active reservation of the platform."""
    feed(app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    for plan in reservation_plans(app, lambda: cancel(app, "ord-1", "stp-1")):
        assert "ix_reservations_order_id" in plan, plan
