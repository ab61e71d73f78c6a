"""Where a service's CPU went, thread by thread: the request path (``MainThread``, uvicorn's
event loop), the group-commit writer (``AnyIO worker thread``), the consumer, the outbox relay,
kafka-python's network threads, the matcher's planner.

CPU per thread comes from Linux ``/proc/<pid>/task/<tid>/stat``; names from ``py-spy dump``
(Python threads do not name their OS threads), read when the measurement starts and again when
it ends, so threads started meanwhile are named too. Threads that ended meanwhile (short-lived
ones, e.g. the solver's workers) are counted together as ``ended threads``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENDED = "ended threads"
# Thread 123 (idle): "MainThread" — or (active), (active+gil)
_DUMP_LINE = re.compile(r'^Thread (\d+) \([^)]*\): "([^"]*)"', re.MULTILINE)


def _ticks(stat: str) -> int:
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def process_ticks(pid: int) -> int:
    """User + system clock ticks of the whole process, ended threads included."""
    return _ticks(Path(f"/proc/{pid}/stat").read_text())


def thread_ticks(pid: int) -> dict[int, int]:
    """User + system clock ticks of each live thread, by OS thread id."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out[int(tid)] = _ticks(Path(f"/proc/{pid}/task/{tid}/stat").read_text())
        except FileNotFoundError:  # ended while listed
            continue
    return out


def thread_names(pid: int) -> dict[int, str]:
    """OS thread id → Python thread name, from ``py-spy dump`` ({} when it cannot run)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    try:
        dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {int(tid): name for tid, name in _DUMP_LINE.findall(dump)}


def by_thread(*, before: Mapping[int, int], after: Mapping[int, int], process_before: int,
              process_after: int, names: Mapping[int, str], tick_s: float) -> dict[str, float]:
    """CPU seconds per thread name between two readings, busiest first; threads of one name
    (a pool) are added up, unnamed ones are ``thread <tid>``, and whatever the process used
    beyond its live threads is ``ENDED``."""
    used: dict[str, float] = {}
    live = 0
    for tid, ticks in after.items():
        delta = ticks - before.get(tid, 0)
        live += delta
        if delta:
            name = names.get(tid, f"thread {tid}")
            used[name] = used.get(name, 0.0) + delta * tick_s
    ended = process_after - process_before - live
    if ended > 0:
        used[ENDED] = ended * tick_s
    return dict(sorted(used.items(), key=lambda kv: -kv[1]))


@dataclass
class ThreadCpu:
    """Readings of one process: ``start()`` before the measured part, ``used()`` after it."""

    pid: int
    _before: dict[int, int] = field(default_factory=dict)
    _process_before: int = 0
    _names: dict[int, str] = field(default_factory=dict)

    def start(self) -> ThreadCpu:
        self._names = thread_names(self.pid)
        self._process_before = process_ticks(self.pid)
        self._before = thread_ticks(self.pid)
        return self

    def used(self) -> dict[str, float]:
        after, process_after = thread_ticks(self.pid), process_ticks(self.pid)
        names = {**self._names, **thread_names(self.pid)}
        return by_thread(before=self._before, after=after, process_before=self._process_before,
                         process_after=process_after, names=names,
                         tick_s=1 / os.sysconf("SC_CLK_TCK"))
