"""Order POST → reservation held, over the walk-through, on a freshly started local stack.

Usage: .venv/bin/python bench/walkthrough_latency.py [--runs 5]
Writes bench/results/walkthrough-<date>.json and prints the median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from report import write_report

from services.matcher.config import Settings as MatcherSettings
from shared.settings import DEFAULT_JWT_SECRET
from sharefab_cli.main import demo_tokens
from sharefab_cli.stack import SERVICES, LocalStack, StackConfig, free_port
from sharefab_cli.walkthrough import Endpoints, Walkthrough


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var:
        config = StackConfig(broker_port=free_port(), ports={s: free_port() for s in SERVICES},
                             var_dir=Path(var))
        with LocalStack(config, sink=lambda name, line: None) as stack:
            started = time.monotonic()
            stack.start()
            startup_s = time.monotonic() - started
            walk = Walkthrough(Endpoints(**{s: config.url(s) for s in SERVICES}),
                               demo_tokens(DEFAULT_JWT_SECRET))
            walk.setup(window_hours=6.0 * args.runs + 1)
            results = [walk.run() for _ in range(args.runs)]
    held = [r.order_to_held_s for r in results]
    allocated = [r.accept_to_allocated_s for r in results]
    report = {
        "benchmark": "walkthrough", "at": datetime.now(UTC).isoformat(), "runs": args.runs,
        "matcher_batch_interval_s": MatcherSettings().batch_interval_s,
        "stack_startup_s": round(startup_s, 2),
        "order_post_to_held_s": [round(x, 3) for x in held],
        "order_post_to_held_median_s": round(statistics.median(held), 3),
        "accept_to_allocated_s": [round(x, 3) for x in allocated],
        "accept_to_allocated_median_s": round(statistics.median(allocated), 3),
    }
    path = write_report("walkthrough", report)
    print(json.dumps(report, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
