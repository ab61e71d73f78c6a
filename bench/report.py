"""Where every benchmark writes its result: bench/results/<name>-<UTC date>.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_report(name: str, report: dict[str, Any], *, path: Path | None = None) -> Path:
    """Write ``report`` as indented JSON and return the file's path."""
    path = path or RESULTS / f"{name}-{datetime.now(UTC):%Y-%m-%d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path
