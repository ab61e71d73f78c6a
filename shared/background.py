"""A daemon thread with ``start()``/``stop()``/``alive``: the shape of every background loop
(outbox relay, event consumer, the matcher's planner) a service's runtime starts and stops;
``PeriodicWorker`` for the loops that do one thing every interval (hold expiry, retention), and
``drain`` for work done in batches until none is left."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class BackgroundWorker:
    thread_name = "worker"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _interrupt(self) -> None:
        """Wake the loop if it waits on something other than ``self._stop``."""

    def _run(self) -> None:
        raise NotImplementedError


class PeriodicWorker(BackgroundWorker):
    """Calls ``tick()`` every ``interval_s``, the first time at start when ``tick_at_start``;
    a failed tick (a database hiccup) is logged and the next interval tries again."""

    def __init__(self, *, interval_s: float, tick_at_start: bool = False) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._tick_at_start = tick_at_start

    def tick(self) -> object:
        raise NotImplementedError

    def _run(self) -> None:
        if not self._tick_at_start and self._stop.wait(self._interval_s):
            return
        while True:
            try:
                self.tick()
            except Exception:  # the loop must outlive a database hiccup
                logger.exception("%s failed; retrying in %.0f s", self.thread_name,
                                 self._interval_s)
            if self._stop.wait(self._interval_s):
                return


def drain(batch: Callable[[], int], *, size: int,
          stopping: Callable[[], bool] = lambda: False) -> int:
    """Run ``batch`` (which handles up to ``size`` items and answers how many) until it
    handles fewer, asking ``stopping`` before each; answers the total."""
    total = 0
    while not stopping():
        done = batch()
        total += done
        if done < size:
            break
    return total
