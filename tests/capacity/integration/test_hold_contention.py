"""64 threads, 1,000 attempts on the same two windows: holds (one- and two-step orders) mixed
with accepts, declines and releases (order.cancelled). Hours held + accepted never exceed the
hours offered — checked continuously by an observer thread and at the end, where the books must
also balance with the reservations — on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from services.capacity.domain import commands
from services.capacity.domain.errors import DomainError
from services.capacity.domain.model import Actor
from services.capacity.service_layer import handlers
from services.capacity.service_layer.unit_of_work import ConcurrentUpdate
from tests.capacity.integration.flows import CLUSTER, build_site, cancel, create_cluster, feed

pytestmark = pytest.mark.integration

THREADS, ATTEMPTS, HOURS_PER_WINDOW = 64, 1000, 30.0
SUPPLIER = Actor("firm-s1", "supplier", (CLUSTER,))


class Contention:
    """The shared state of one run: which attempt comes next, and what happened."""

    def __init__(self, app: FastAPI, window_ids: list[str]) -> None:
        self.app = app
        self.engine = app.state.runtime.engine
        self.window_ids = window_ids
        self.next_attempt = iter(range(ATTEMPTS))
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.errors: list[BaseException] = []
        self.steps: dict[str, list[str]] = {}

    def take(self) -> int | None:
        with self.lock:
            return next(self.next_attempt, None)

    def record(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1

    def pick(self, sql: str) -> str | None:
        with self.engine.connect() as conn:
            ids = conn.execute(sa.text(sql)).scalars().all()
        return random.choice(ids) if ids else None

    def attempt(self, n: int, rng: random.Random) -> None:
        roll = rng.random()
        if roll < 0.55:
            self.hold(n, rng)
        elif roll < 0.75:
            self.answer(accept=True)
        elif roll < 0.90:
            self.answer(accept=False)
        else:
            self.release()

    def hold(self, n: int, rng: random.Random) -> None:
        order_id = f"ord-{n}"
        if rng.random() < 0.2:  # a two-step order on both windows: all or nothing
            allocs = [(f"stp-{n}-{i}", wid, float(rng.randint(1, 3)))
                      for i, wid in enumerate(self.window_ids)]
        else:
            allocs = [(f"stp-{n}", rng.choice(self.window_ids), float(rng.randint(1, 4)))]
        with self.lock:
            self.steps[order_id] = [s for s, _, _ in allocs]
        feed(self.app, order_id, *allocs)
        self.record("hold")

    def answer(self, *, accept: bool) -> None:
        rid = self.pick("SELECT id FROM reservations WHERE status = 'held'")
        kind = "accept" if accept else "decline"
        if rid is None:
            self.record(f"{kind}: nothing held")
            return
        uow = self.app.state.runtime.uow_factory()
        try:
            if accept:
                handlers.accept_reservation(commands.AcceptReservation(SUPPLIER, rid), uow)
            else:
                handlers.decline_reservation(
                    commands.DeclineReservation(SUPPLIER, rid, reason="busy"), uow)
            self.record(kind)
        except (DomainError, ConcurrentUpdate):  # another thread answered or released it
            self.record(f"{kind}: refused")

    def release(self) -> None:
        order_id = self.pick("SELECT DISTINCT order_id FROM reservations "
                             "WHERE status IN ('held', 'accepted')")
        if order_id is None:
            self.record("release: nothing to release")
            return
        cancel(self.app, order_id, *self.steps[order_id])
        self.record("release")


def _observe(engine: sa.Engine, stop: threading.Event, samples: list[tuple]) -> None:
    while not stop.is_set():
        with engine.connect() as conn:
            samples.extend(conn.execute(sa.text(
                "SELECT id, hours, held_hours, accepted_hours FROM windows")).all())
        stop.wait(0.02)


def test_64_threads_1000_attempts_never_overbook(app: FastAPI, client: TestClient,
                                                 database_url: str) -> None:
    create_cluster(client)
    window_ids = build_site(client, windows=2, hours=HOURS_PER_WINDOW).window_ids
    run = Contention(app, window_ids)
    start = threading.Barrier(THREADS)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        while (n := run.take()) is not None:
            try:
                run.attempt(n, rng)
            except BaseException as exc:  # reported by the test
                run.errors.append(exc)

    stop, samples = threading.Event(), []
    observer = threading.Thread(target=_observe, args=(run.engine, stop, samples))
    observer.start()
    threads = [threading.Thread(target=worker, args=(20261201 + t,)) for t in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    elapsed = time.perf_counter() - started
    stop.set()
    observer.join(10)

    assert run.errors == []
    assert sum(run.outcomes.values()) == ATTEMPTS
    # every kind of attempt happened and changed something
    assert all(run.outcomes[k] > 0 for k in ("hold", "accept", "decline", "release"))
    # never overbooked, at any sample and at the end
    overbooked = [s for s in samples if s.held_hours + s.accepted_hours > s.hours + 1e-9]
    assert samples and overbooked == []
    with run.engine.connect() as conn:
        windows = conn.execute(sa.text(
            "SELECT id, hours, held_hours, accepted_hours FROM windows")).all()
        sums = {(r.window_id, r.status): r.total for r in conn.execute(sa.text(
            "SELECT window_id, status, SUM(hours) AS total FROM reservations "
            "GROUP BY window_id, status")).all()}
        statuses = dict(conn.execute(sa.text(
            "SELECT status, COUNT(*) FROM reservations GROUP BY status")).all())
    for w in windows:
        assert w.hours == HOURS_PER_WINDOW
        assert w.held_hours + w.accepted_hours <= w.hours
        # the books balance: the window's counters are the sums of its reservations
        assert w.held_hours == pytest.approx(sums.get((w.id, "held"), 0.0))
        assert w.accepted_hours == pytest.approx(sums.get((w.id, "accepted"), 0.0))
    assert statuses.get("accepted", 0) > 0
    backend = make_url(database_url).get_backend_name()
    print(f"HOLD-CONTENTION backend={backend} threads={THREADS} attempts={ATTEMPTS} "
          f"wall_s={elapsed:.1f} samples={len(samples)} outcomes={dict(run.outcomes)} "
          f"reservations={statuses} windows="
          f"{[(w.hours, w.held_hours, w.accepted_hours) for w in windows]}")
