"""The rate limiter's in-process storage: no thread per hit, expired counters still dropped."""

from __future__ import annotations

import threading
import time

import pytest
from limits import parse
from limits.storage import memory
from limits.strategies import SlidingWindowCounterRateLimiter

from shared import limits as limits_module
from shared.limits import SWEEP_INTERVAL_S, SweptMemoryStorage, rate_limit_storage
from tests.helpers import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(1_000_000.0)
    monkeypatch.setattr(time, "time", c)  # limits' expiries
    monkeypatch.setattr(time, "monotonic", c)  # the sweep's schedule
    return c


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[threading.Timer]:
    """Every ``threading.Timer`` the limits package starts."""
    started: list[threading.Timer] = []

    class Counted(threading.Timer):
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(memory.threading, "Timer", Counted)
    return started


def _hits(storage: memory.MemoryStorage, keys: list[str]) -> None:
    limiter = SlidingWindowCounterRateLimiter(storage)
    item = parse("1000/second")
    for key in keys:
        assert limiter.hit(item, key)
        time.sleep(0.012)  # longer than the parent's 10 ms timer: it would start another


def test_hits_start_no_thread(timers: list[threading.Timer]) -> None:
    _hits(memory.MemoryStorage(), ["firm:a"] * 5)
    assert len(timers) >= 5  # what the parent does: the reason for the subclass
    timers.clear()
    storage = SweptMemoryStorage()
    _hits(storage, ["firm:a"] * 5)
    assert len(timers) == 1 and not timers[0].is_alive()  # the parent's first, cancelled


def test_expired_counters_are_dropped_by_a_later_hit_once_per_interval(clock: Clock) -> None:
    storage = SweptMemoryStorage()
    limiter = SlidingWindowCounterRateLimiter(storage)
    item = parse("5/second")
    assert limiter.hit(item, "firm:a")
    keys_of_a = set(storage.storage)
    assert keys_of_a and storage.sweeps == 0

    clock.now += SWEEP_INTERVAL_S / 2
    assert limiter.hit(item, "firm:b")
    assert storage.sweeps == 0 and keys_of_a <= set(storage.storage)  # not due yet

    clock.now += 3  # firm:a's counters (kept two windows) have expired
    assert limiter.hit(item, "firm:b")
    assert storage.sweeps == 1
    assert not keys_of_a & set(storage.storage) and not keys_of_a & set(storage.expirations)
    assert limiter.hit(item, "firm:a")  # counted afresh


def test_only_memory_uris_get_the_swept_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(rate_limit_storage("memory://")) is SweptMemoryStorage
    asked: list[str] = []
    monkeypatch.setattr(limits_module, "storage_from_string", asked.append)
    rate_limit_storage("redis://cache:6379")
    assert asked == ["redis://cache:6379"]  # a shared store: as the limits package builds it
