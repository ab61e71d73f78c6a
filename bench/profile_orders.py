"""Profile ``POST /v1/orders`` under the bench's closed-loop load: starts the stack, creates
the cluster, runs the load for ``--duration`` seconds and records the orders process with
py-spy (``--format speedscope|flamegraph|raw``). Usage:
  .venv/bin/python bench/profile_orders.py --duration 20 --out var/orders.txt"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import throughput
from system_bench import stack_config, started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--format", default="raw")
    parser.add_argument("--out", default="var/orders-post.txt")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as var:
        stack, _ = started(stack_config(var, {}))
        try:
            throughput.create_cluster(stack.config)
            pid = stack.procs["orders"].pid
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            recorder = threading.Thread(target=subprocess.run, args=([
                spy, "record", "--pid", str(pid), "--duration", str(int(args.duration)),
                "--rate", "200", "--format", args.format, "--output", args.out,
                "--nonblocking"],), daemon=True)
            recorder.start()
            result = throughput.orders_post(stack.config, {"orders": pid},
                                            connections=args.connections,
                                            duration_s=args.duration, warmup_s=0)
            recorder.join()
            print(f"{result['req_per_s']} req/s; profile in {args.out}")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
