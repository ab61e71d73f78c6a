"""The garbage collector and a long-running service.

Once a service has started, most of what its process holds lives as long as the process:
modules, the app, the libraries' tables (SQLAlchemy, pydantic, OR-Tools, kafka-python). The
collector's full (oldest-generation) pass scans them all again every time, holding the GIL:
no other thread of the process (planning, the event consumer, requests) runs meanwhile.
``gc.freeze()`` moves what exists at that moment to a generation the collector never scans.
Measured side by side (``GC_FREEZE`` off and on, alternating, the tuned 100 orders/s bench
run, two runs each): the matcher's full passes took 4.74 and 4.29 s in all (37 and 35 passes,
~125 ms each) without, 0.78 and 0.79 s (38 and 43) with; the orders service's 1.01 and
1.11 s without, 0.39 and 0.44 s with. The CPU per order and the p99 moved by less than their
run-to-run noise. Objects frozen are still freed by reference counting; only reference
cycles among them are never reclaimed, which suits objects made to last.
"""

from __future__ import annotations

import gc
import logging
import threading

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_frozen = False


def freeze_startup_heap() -> int | None:
    """Collect once, then freeze everything the process holds, the first time it is called
    in the process (later calls — another app in the same process, as in tests — do
    nothing and return None). Returns how many objects were frozen."""
    global _frozen
    with _lock:
        if _frozen:
            return None
        gc.collect()
        gc.freeze()
        _frozen = True
    count = gc.get_freeze_count()
    logger.info("garbage collector: %d objects of the started service frozen", count)
    return count
