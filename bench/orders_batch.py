"""Throughput of POST /v1/orders:batch over real HTTP, on a freshly started local stack.

The broker and the three services run as processes (as `make run` starts them); the cluster is
created through capacity and the benchmark waits until orders has learnt it from the event.
Then it posts ``--batches`` batches of ``--size`` two-step orders, one after the other.

Usage: .venv/bin/python bench/orders_batch.py [--batches 10] [--size 1000]
Writes bench/results/orders-batch-<date>.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from report import write_report

from shared.settings import DEFAULT_JWT_SECRET
from sharefab_cli.main import demo_tokens
from sharefab_cli.stack import SERVICES, LocalStack, StackConfig, free_port

CLUSTER = "qhd-auto"


def order(i: int, due: datetime) -> dict[str, Any]:
    return {
        "cluster_id": CLUSTER, "title": f"Bracket lot {i}",
        "delivery": {"lat": 39.94, "lon": 119.55}, "due": due.isoformat(),
        "min_tier": "basic", "certifications": [], "max_distance_km": 60, "priority": 1 + i % 5,
        "steps": [
            {"key": "mill", "process": "cnc_milling", "material": "steel", "quantity": 100,
             "hours": 2.0 + i % 4, "after": []},
            {"key": "coat", "process": "surface_coating", "quantity": 100, "hours": 1.0,
             "after": ["mill"]},
        ],
    }


def wait_for_cluster(http: httpx.Client, url: str, headers: dict[str, str]) -> float:
    """Probe with an order that is due in the past (so nothing is stored) until the refusal
    no longer names the cluster; answers the seconds it took."""
    probe = order(0, datetime.now(UTC) - timedelta(days=1))
    started = time.monotonic()
    while time.monotonic() - started < 60:
        item = http.post(url, json={"orders": [probe]}, headers=headers).json()["items"][0]
        fields = {e["field"] for e in item["problem"]["errors"]}
        if "orders.0.cluster_id" not in fields:
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError("orders never learnt the cluster")


def run(stack_config: StackConfig, *, batches: int, size: int) -> dict[str, Any]:
    tokens = demo_tokens(DEFAULT_JWT_SECRET)
    auth = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    orders_url = stack_config.url("orders") + "/v1/orders:batch"
    with httpx.Client(timeout=120) as http:
        http.post(stack_config.url("capacity") + "/v1/clusters", headers=auth["OP"], json={
            "id": CLUSTER, "name": "Qinhuangdao auto parts", "lat": 39.93, "lon": 119.60,
            "max_distance_km": 60}).raise_for_status()
        cluster_wait_s = wait_for_cluster(http, orders_url, auth["BUY"])
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=14)
        runs = []
        for b in range(batches):
            body = {"orders": [order(b * size + i, due) for i in range(size)]}
            headers = {**auth["BUY"], "Idempotency-Key": uuid.uuid4().hex}
            started = time.perf_counter()
            response = http.post(orders_url, json=body, headers=headers)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            answer = response.json()
            if answer["accepted"] != size:
                raise RuntimeError(f"batch {b}: {answer['rejected']} rejected: "
                                   f"{json.dumps(answer['items'][:3])[:500]}")
            runs.append({"orders": size, "seconds": round(elapsed, 4),
                         "orders_per_s": round(size / elapsed, 1)})
    seconds = [r["seconds"] for r in runs]
    return {
        "benchmark": "orders-batch", "at": datetime.now(UTC).isoformat(),
        "transport": "HTTP to uvicorn (one worker), full local stack running",
        "cpus": os.cpu_count(), "batches": batches, "batch_size": size,
        "steps_per_order": 2, "cluster_known_after_s": round(cluster_wait_s, 2),
        "per_batch": runs,
        "overall_orders_per_s": round(batches * size / sum(seconds), 1),
        "p50_batch_latency_s": round(statistics.median(seconds), 4),
        "max_batch_latency_s": round(max(seconds), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var:
        config = StackConfig(broker_port=free_port(), ports={s: free_port() for s in SERVICES},
                             var_dir=Path(var))
        with LocalStack(config, sink=lambda name, line: None) as stack:
            stack.start()
            report = run(config, batches=args.batches, size=args.size)
    path = write_report("orders-batch", report)
    print(json.dumps(report, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
