"""Where every benchmark writes its result: bench/results/<name>-<UTC date>.json."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_report(name: str, report: dict[str, Any], *, path: Path | None = None) -> Path:
    """Write ``report`` as indented JSON and return the file's path. The machine's load average
    at the end is added, and ``python_loop_s``: on a shared machine they say how far to trust the
    seconds, and how fast the machine was that day (compare two days' runs by it)."""
    report = {**report, "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
              "python_loop_s": python_loop_s()}
    path = path or RESULTS / f"{name}-{datetime.now(UTC):%Y-%m-%d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def python_loop_s(iterations: int = 5_000_000, repeats: int = 3) -> float:
    """Seconds this machine's Python takes for a fixed loop (best of ``repeats``): a shared
    machine is not equally fast every day, and every benchmark's seconds move with it."""
    best = float("inf")
    for _ in range(repeats):
        started, total = time.perf_counter(), 0
        for i in range(iterations):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)
