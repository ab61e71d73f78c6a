"""A daemon thread with ``start()``/``stop()``/``alive``: the shape of every background loop
(outbox relay, event consumer, the matcher's planner) a service's runtime starts and stops."""

from __future__ import annotations

import threading


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
