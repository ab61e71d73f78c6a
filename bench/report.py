"""Where every benchmark writes its result: bench/results/<name>-<UTC date>.json."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_report(name: str, report: dict[str, Any], *, path: Path | None = None) -> Path:
    """Write ``report`` as indented JSON and return the file's path. The machine's load average
    at the end is added: on a shared machine it says how far to trust the seconds."""
    report = {**report, "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()]}
    path = path or RESULTS / f"{name}-{datetime.now(UTC):%Y-%m-%d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path
