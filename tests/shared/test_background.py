"""shared.background: the periodic loop and batch draining the services' workers share."""

from __future__ import annotations

import threading

from shared.background import PeriodicWorker, drain


class Ticks(PeriodicWorker):
    thread_name = "test-ticks"

    def __init__(self, *, interval_s: float, tick_at_start: bool, fail_first: bool = False):
        super().__init__(interval_s=interval_s, tick_at_start=tick_at_start)
        self.count = 0
        self.fail_first = fail_first
        self.ticked = threading.Event()

    def tick(self) -> None:
        self.count += 1
        if self.fail_first and self.count == 1:
            raise ConnectionError("database down")
        self.ticked.set()


def test_a_worker_ticks_at_start_only_when_asked() -> None:
    eager, patient = (Ticks(interval_s=60, tick_at_start=True),
                      Ticks(interval_s=60, tick_at_start=False))
    for worker in (eager, patient):
        worker.start()
    assert eager.ticked.wait(5)
    for worker in (eager, patient):
        worker.stop()
    assert (eager.count, patient.count) == (1, 0)  # the other waits its first interval


def test_a_failed_tick_is_retried_at_the_next_interval() -> None:
    worker = Ticks(interval_s=0.01, tick_at_start=True, fail_first=True)
    worker.start()
    assert worker.ticked.wait(5)
    worker.stop()
    assert worker.count >= 2 and not worker.alive


def test_drain_runs_batches_until_one_is_not_full_or_it_is_told_to_stop() -> None:
    left = [12]

    def batch() -> int:
        done = min(5, left[0])
        left[0] -= done
        return done

    assert drain(batch, size=5) == 12 and left == [0]
    left[0], asked = 12, iter([False, True])
    assert drain(batch, size=5, stopping=lambda: next(asked)) == 5 and left == [7]
    assert drain(batch, size=5, stopping=lambda: True) == 0
