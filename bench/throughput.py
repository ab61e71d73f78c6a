"""Phases 1 and 2 of ``make bench``: the hello-world anchor against ``POST /v1/orders`` under
the same closed-loop load, then ``POST /v1/orders:batch`` with 1,000-order batches.

``POST /v1/orders`` is measured twice: on the orders service alone (its consumer and outbox relay
off, no broker, no other service: the request path and its database write only), then in the
whole system. Each server's CPU per answer is reported beside its rate, so the report shows
where the ratio goes: into the request path, or into the work the orders cause.

Both servers are pinned to CPU 0 while they are measured and the load generator (this process)
to CPU 1, so that neither starves the other on a two-core machine; the other services and the
broker are left to the scheduler (they do the background work the orders cause)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from latency import cpu_seconds
from load import LoadResult, Target, closed_loop, per_second
from orders_batch import order as batch_order
from orders_batch import wait_for_cluster
from threads import ThreadCpu

from services.orders.adapters.unit_of_work import SqlAlchemyOrdersUnitOfWork
from services.orders.bootstrap import MIGRATIONS_DIR as ORDERS_MIGRATIONS
from shared.auth import Role, issue_token
from shared.db import make_engine, make_session_factory, run_migrations
from shared.settings import DEFAULT_JWT_SECRET
from sharefab_cli.stack import StackConfig, free_port, port_open, wait_until

BENCH_DIR = Path(__file__).resolve().parent
CLUSTER = "qhd-auto"  # orders_batch's orders name it


def uvicorn_command(factory: str, port: int, *, app_dir: Path | None = None) -> list[str]:
    """The command line LocalStack starts a service with (one worker, no access log)."""
    cmd = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
           "--port", str(port), "--no-access-log", "--timeout-graceful-shutdown", "5"]
    return cmd + (["--app-dir", str(app_dir)] if app_dir else [])


def pin(pid: int, cpus: set[int]) -> bool:
    """Pin every thread of ``pid`` to ``cpus`` (False where the OS or CPU count does not
    allow it)."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(task), cpus)
    except OSError:
        return False
    return True


def all_cpus() -> set[int]:
    return set(range(os.cpu_count() or 1))


def buyer_headers(n: int) -> list[dict[str, str]]:
    return [{"Authorization": "Bearer " + issue_token(
        DEFAULT_JWT_SECRET, firm_id=f"bench-buyer-{k:02d}", role=Role.BUYER,
        clusters=[CLUSTER]), "Content-Type": "application/json"} for k in range(n)]


GENERATOR = "load generator"  # this process, in the CPU by process


def measure(targets: list[Target], *, connections: int, duration_s: float,
            warmup_s: float, pid: int | None = None, name: str = "server",
            processes: dict[str, int] | None = None) -> LoadResult:
    """The closed loop's result; with ``pid``, also the CPU seconds that process used during the
    measured part, in all and by thread, and (by process, ``pid`` as ``name``) those of the
    load generator and of every other process in ``processes`` (the rest of the system), so
    the report says how busy the whole machine was."""
    if warmup_s > 0:
        asyncio.run(closed_loop(targets, connections=connections, duration_s=warmup_s))
    if pid is None:
        return asyncio.run(closed_loop(targets, connections=connections, duration_s=duration_s))
    threads = ThreadCpu(pid).start()
    pids = {**(processes or {}), name: pid, GENERATOR: os.getpid()}
    before = cpu_seconds(pids)
    result = asyncio.run(closed_loop(targets, connections=connections, duration_s=duration_s))
    used = {process: s - before[process] for process, s in cpu_seconds(pids).items()}
    return replace(result, server_cpu_s=used[name], server_cpu_by_thread_s=threads.used(),
                   cpu_by_process_s=used, cpus=os.cpu_count())


def result_json(result: LoadResult) -> dict[str, Any]:
    return {**result.report(), "per_second": per_second(
        result.finished_at, start=result.started_at, seconds=int(result.duration_s))}


def hello_world(*, connections: int, duration_s: float, warmup_s: float) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen(uvicorn_command("hello_app:create_app", port, app_dir=BENCH_DIR),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_until(lambda: port_open(port), timeout_s=30, what="the hello-world app")
        pinned = pin(proc.pid, {0})
        result = measure([Target("127.0.0.1", port, "GET", "/")], connections=connections,
                         duration_s=duration_s, warmup_s=warmup_s, pid=proc.pid,
                         name="hello world")
    finally:
        proc.terminate()
        proc.wait(10)
    return {**result_json(result), "pinned_to_cpu0": pinned}


def order_body() -> bytes:
    """The one-step order every connection posts."""
    due = (datetime.now(UTC) + timedelta(days=14)).replace(microsecond=0).isoformat()
    return json.dumps({
        "cluster_id": CLUSTER, "title": "Brackets", "delivery": {"lat": 39.94, "lon": 119.55},
        "due": due, "min_tier": "basic", "max_distance_km": 60, "priority": 3,
        "steps": [{"key": "mill", "process": "cnc_milling", "material": "steel",
                   "quantity": 500, "hours": 6.0, "after": []}]}).encode()


def orders_post(config: StackConfig, pids: dict[str, int], *, connections: int,
                duration_s: float, warmup_s: float) -> dict[str, Any]:
    """``POST /v1/orders`` in the whole system: ``pids`` are the stack's processes by name
    (the orders service measured, the others' CPU reported beside it)."""
    others = {name: pid for name, pid in pids.items() if name != "orders"}
    return _orders_post(config.ports["orders"], pids["orders"], connections=connections,
                        duration_s=duration_s, warmup_s=warmup_s, others=others)


def _orders_post(port: int, orders_pid: int, *, connections: int, duration_s: float,
                 warmup_s: float, others: dict[str, int] | None = None) -> dict[str, Any]:
    body = order_body()
    targets = [Target("127.0.0.1", port, "POST", "/v1/orders", h, body)
               for h in buyer_headers(connections)]
    pinned = pin(orders_pid, {0})
    try:
        result = measure(targets, connections=connections, duration_s=duration_s,
                         warmup_s=warmup_s, pid=orders_pid, name="orders",
                         processes=others)
    finally:
        pin(orders_pid, all_cpus())
    return {**result_json(result), "pinned_to_cpu0": pinned, "body_bytes": len(body)}


def orders_alone(var: Path, *, connections: int, duration_s: float,
                 warmup_s: float) -> dict[str, Any]:
    """``POST /v1/orders`` on the orders service alone: its own SQLite database (migrated, the
    cluster stored through its own repository), consumer and outbox relay off, no broker. What
    the request path and its write cost, without the work the orders cause elsewhere."""
    url = f"sqlite:///{var / 'orders-alone.db'}"
    run_migrations(url, ORDERS_MIGRATIONS)
    engine = make_engine(url)
    try:
        with SqlAlchemyOrdersUnitOfWork(make_session_factory(engine)) as uow:
            uow.clusters.upsert(CLUSTER, "Qinhuangdao auto parts")
            uow.commit()
    finally:
        engine.dispose()
    port = free_port()
    env = {**os.environ, "ORDERS_DATABASE_URL": url, "KAFKA_CONSUMER_ENABLED": "false",
           "OUTBOX_RELAY_ENABLED": "false", "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    proc = subprocess.Popen(uvicorn_command("services.orders.bootstrap:create_app", port),
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_until(lambda: port_open(port), timeout_s=60, what="the orders service alone")
        return _orders_post(port, proc.pid, connections=connections, duration_s=duration_s,
                            warmup_s=warmup_s)
    finally:
        proc.terminate()
        proc.wait(10)


def create_cluster(config: StackConfig) -> float:
    """The cluster, through capacity; answers how long orders took to learn it."""
    operator = issue_token(DEFAULT_JWT_SECRET, firm_id="platform", role=Role.OPERATOR)
    with httpx.Client(timeout=60) as http:
        http.post(config.url("capacity") + "/v1/clusters",
                  headers={"Authorization": f"Bearer {operator}"},
                  json={"id": CLUSTER, "name": "Qinhuangdao auto parts", "lat": 39.93,
                        "lon": 119.60, "max_distance_km": 60}).raise_for_status()
        return wait_for_cluster(http, config.url("orders") + "/v1/orders:batch",
                                buyer_headers(1)[0])


def batches(config: StackConfig, *, count: int, size: int) -> dict[str, Any]:
    url = config.url("orders") + "/v1/orders:batch"
    headers = buyer_headers(1)[0]
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=14)
    runs = []
    with httpx.Client(timeout=120) as http:
        for b in range(count):
            body = {"orders": [batch_order(b * size + i, due) for i in range(size)]}
            started = time.perf_counter()
            response = http.post(url, json=body,
                                 headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            if (accepted := response.json()["accepted"]) != size:
                raise RuntimeError(f"batch {b}: only {accepted} of {size} accepted")
            runs.append(round(elapsed, 4))
    return {"batches": count, "batch_size": size, "steps_per_order": 2, "seconds": runs,
            "orders_per_s": round(count * size / sum(runs), 1)}
