"""``make bench``: the whole system started locally (broker + orders, capacity, matcher, one
uvicorn worker each, as ``sharefab run`` starts them), then in one run:

1. the anchor — FastAPI's hello world under uvicorn with the same settings — and
   ``POST /v1/orders``, each under the same closed-loop load (32 connections, 30 s): req/s and
   their ratio (target ≥ 0.5); ``POST /v1/orders`` also on the orders service alone (no
   consumer, relay, broker or other service), and each server's CPU per answer, so the report
   says how much of the gap is the request path itself;
2. ``POST /v1/orders:batch`` with 1,000-order batches: orders/s (target ≥ 1,000);
3. on a fresh stack with a seeded cluster, 100 orders/s for 60 s: order → first proposal
   latency p50/p95/p99 (target p99 ≤ 2 s) and lost orders (target 0), with the default
   settings, repeated (``--repeat``, 3 runs in all, each on a fresh stack) because the p99
   varies from run to run on a shared machine: every run's p99 is reported, with their
   median. When the median misses the target, the same again with what an operator would
   configure (``--tuned``). Then one run at lower rates (``--also-rate``, 20 and 50 orders/s)
   with the setting that met it (the defaults, else the tuned one);
   each run reports the CPU each process spent per order (where the two cores went).
   Lost = accepted orders without a first plan, plus orders stored although their POST timed
   out at the client (found by listing each buyer's orders) that got none.

Writes bench/results/bench-<date>.json and .png and prints the table.
Usage: .venv/bin/python bench/system_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import latency
import throughput
from load import across_runs, ratio
from plot import plot
from report import RESULTS, write_report
from rich.console import Console
from rich.table import Table

from sharefab_cli.stack import SERVICES, LocalStack, StackConfig, free_port

console = Console(highlight=False)
P99_TARGET_S = 2.0  # order → first proposal at the bench rate
# plan often and briefly, and leave a core to the others; a full batch of 1,000 steps leaves
# these runs unpaced, as they were before pacing
TUNED = ("MATCHER_BATCH_INTERVAL_S=0.5,MATCHER_SOLVER_THREADS=1,MATCHER_SOLVER_TIME_LIMIT_S=0.5,"
         "MATCHER_BATCH_MAX_STEPS=1000")


def stack_config(var: str, env: dict[str, str]) -> StackConfig:
    return StackConfig(broker_port=free_port(), ports={s: free_port() for s in SERVICES},
                       var_dir=Path(var), env=env)


def started(config: StackConfig) -> tuple[LocalStack, deque[str]]:
    logs: deque[str] = deque(maxlen=200)
    stack = LocalStack(config, sink=lambda name, line: logs.append(f"{name:>8} | {line}"))
    stack.start()
    return stack, logs


def by_thread(result: dict[str, Any]) -> str:
    """The server's CPU per answer by thread, busiest first, on one line."""
    threads = result.get("server_cpu_ms_per_answer_by_thread") or {}
    return "  CPU ms per answer by thread: " + (", ".join(
        f"{name} {ms:.3f}" for name, ms in threads.items()) or "not measured")


def by_process(result: dict[str, Any]) -> str:
    """Each process's CPU per answer, busiest first, and how many of the cores were busy."""
    processes = result.get("cpu_ms_per_answer_by_process") or {}
    if not processes:
        return "not measured"
    return (", ".join(f"{name} {ms:.3f}" for name, ms in processes.items())
            + f" ms; {result['cores_busy']} of {result['cores']} cores busy")


def phase_throughput(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    generator_pinned = throughput.pin(os.getpid(), {1})
    try:
        console.rule("1. hello world vs POST /v1/orders")
        hello = throughput.hello_world(connections=args.connections, duration_s=args.duration,
                                       warmup_s=args.warmup)
        console.print(f"hello world: {hello['req_per_s']:,.1f} req/s")
        console.print(f"  CPU per answer by process: {by_process(hello)}")
        with tempfile.TemporaryDirectory() as var:
            alone = throughput.orders_alone(Path(var), connections=args.connections,
                                            duration_s=args.duration, warmup_s=args.warmup)
        console.print(f"POST /v1/orders, orders service alone: {alone['req_per_s']:,.1f} req/s")
        console.print(by_thread(alone))
        with tempfile.TemporaryDirectory() as var:
            stack, logs = started(stack_config(var, {}))
            try:
                cluster_s = throughput.create_cluster(stack.config)
                orders = throughput.orders_post(
                    stack.config, {n: p.pid for n, p in stack.procs.items()},
                    connections=args.connections,
                    duration_s=args.duration, warmup_s=args.warmup)
                console.print(f"POST /v1/orders: {orders['req_per_s']:,.1f} req/s")
                console.print(by_thread(orders))
                console.print(f"  CPU per answer by process: {by_process(orders)}")
                console.rule("2. POST /v1/orders:batch")
                batch = throughput.batches(stack.config, count=args.batches, size=1000)
                console.print(f"batches: {batch['orders_per_s']:,.1f} orders/s")
            except Exception:
                console.print("\n".join(logs))
                raise
            finally:
                stack.stop()
    finally:
        throughput.pin(os.getpid(), throughput.all_cpus())
    return {
        "connections": args.connections, "duration_s": args.duration, "warmup_s": args.warmup,
        "generator": "bench/load.py (asyncio, HTTP/1.1 keep-alive), one process",
        "generator_pinned_to_cpu1": generator_pinned, "hello_world": hello,
        "orders_post_alone": alone, "orders_post": orders,
        "cluster_known_after_s": round(cluster_s, 2),
        "ratio": ratio(orders["req_per_s"], hello["req_per_s"]),
        "ratio_alone": ratio(alone["req_per_s"], hello["req_per_s"]),
    }, batch


def phase_latency(args: argparse.Namespace, name: str, env: dict[str, str], *,
                  rate: float) -> dict[str, Any]:
    console.rule(f"3. {rate:g} orders/s for {args.latency_duration:g} s ({name}: "
                 f"{env or 'defaults'})")
    with tempfile.TemporaryDirectory() as var:
        stack, logs = started(stack_config(var, env))
        try:
            result = latency.run(stack.config, rate=rate,
                                 duration_s=args.latency_duration, factories=args.factories,
                                 settle_s=args.settle,
                                 pids={n: p.pid for n, p in stack.procs.items()})
        except Exception:
            console.print("\n".join(logs))
            raise
        finally:
            stack.stop()
    lat = result["order_to_proposal"]
    console.print(f"p50 {lat['p50_s']} s, p95 {lat['p95_s']} s, p99 {lat['p99_s']} s; "
                  f"lost {result['lost']}; CPU ms per order {result['cpu_ms_per_accepted_order']}")
    return {"settings": env, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, to try it out")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per server")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0, help="orders/s in phase 3")
    parser.add_argument("--latency-duration", type=float, default=60.0)
    parser.add_argument("--factories", type=int, default=150)
    parser.add_argument("--settle", type=float, default=180.0,
                        help="seconds to wait for the last first plans; later = lost")
    parser.add_argument("--also-rate", type=float, action="append",
                        help="one more run at this rate, with the setting that met the p99 target "
                             "(repeatable; default 20 and 50)")
    parser.add_argument("--tuned", default=TUNED, help="K=V,… for the second latency run")
    parser.add_argument("--always-tuned", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of a setting at --rate, each on a fresh stack (p99 of each + "
                             "median)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.batches = 5.0, 1.0, 3
        args.latency_duration, args.factories, args.settle = 15.0, 40, 60.0
        args.also_rate, args.repeat = [], 1

    report: dict[str, Any] = {
        "benchmark": "system", "at": datetime.now(UTC).isoformat(), "quick": args.quick,
        "machine": {"cpus": os.cpu_count(),
                    "loadavg_before": [round(x, 2) for x in os.getloadavg()]},
        "servers": "uvicorn --factory …, 1 worker, --no-access-log (as LocalStack starts them)",
        "pinning": "the measured server on CPU 0 and the load generator on CPU 1 during "
                   "phase 1; other services and the broker unpinned",
    }
    report["throughput"], report["batch"] = phase_throughput(args)
    report["latency"], report["latency_repeats"], report["p99_across_runs"] = {}, [], {}
    settings = {"default": {}}
    if args.tuned:
        settings["tuned"] = dict(kv.split("=", 1) for kv in args.tuned.split(",") if kv)
    met = None
    for name, env in settings.items():
        if name != "default" and not args.always_tuned and met is not None:
            break
        runs = [phase_latency(args, name if k == 1 else f"{name}, run {k}", env, rate=args.rate)
                for k in range(1, args.repeat + 1)]
        # the first run is the one plotted; the table and JSON report the others too
        report["latency"][name] = runs[0]
        report["latency_repeats"] += runs[1:]
        across = across_runs([r["order_to_proposal"]["p99_s"] for r in runs],
                             target_s=P99_TARGET_S)
        report["p99_across_runs"][name] = across
        if met is None and across["median_p99_s"] is not None and (
                across["median_p99_s"] <= P99_TARGET_S):
            met = name
    lower = [20.0, 50.0] if args.also_rate is None else args.also_rate
    name = met or ("tuned" if "tuned" in settings else "default")
    for rate in lower:
        report["latency"][f"{name} at {rate:g}/s"] = phase_latency(
            args, f"{name} at {rate:g}/s", settings[name], rate=rate)
    report["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    stamp = f"{datetime.now(UTC):%Y-%m-%d}" + ("-quick" if args.quick else "")
    json_path = write_report("bench", report, path=RESULTS / f"bench-{stamp}.json")
    png_path = plot(report, RESULTS / f"bench-{stamp}.png")
    console.print(summary_table(report))
    console.print(f"written: {json_path}\n         {png_path}")


def summary_table(report: dict[str, Any]) -> Table:
    tp, batch = report["throughput"], report["batch"]
    table = Table(title="sharefab bench", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, name in (("hello_world", "hello world"),
                      ("orders_post_alone", "POST /v1/orders, orders service alone"),
                      ("orders_post", "POST /v1/orders")):
        table.add_row(f"{name} req/s (server CPU ms per answer)",
                      f"{tp[key]['req_per_s']:,.1f} ({tp[key]['server_cpu_ms_per_answer']})", "")
    table.add_row("POST /v1/orders, CPU per answer by process", by_process(tp["orders_post"]),
                  "")
    table.add_row("ratio orders alone / hello", str(tp["ratio_alone"]), "")
    table.add_row("ratio orders / hello", str(tp["ratio"]), "≥ 0.5")
    table.add_row("orders:batch orders/s", f"{batch['orders_per_s']:,.1f}", "≥ 1,000")
    for name, lat in report["latency"].items():
        p = lat["order_to_proposal"]
        table.add_row(f"order → proposal p50 / p95 / p99 ({name})",
                      f"{p['p50_s']} / {p['p95_s']} / {p['p99_s']} s", "p99 ≤ 2 s")
        table.add_row(f"lost ({name})", f"{lat['lost']} of {lat['orders_accepted']} "
                      f"(+{lat['stored_without_answer']} stored, POST timed out)", "0")
        table.add_row(f"CPU ms per order ({name})", ", ".join(
            f"{k} {v}" for k, v in lat["cpu_ms_per_accepted_order"].items()), "")
    for name, runs in report.get("p99_across_runs", {}).items():
        if runs["runs"] > 1:
            table.add_row(f"p99 of {runs['runs']} {name} runs (median; runs within target)",
                          f"{', '.join(f'{p} s' for p in runs['p99_s'])} "
                          f"({runs['median_p99_s']} s; {runs['runs_within_target']})",
                          "p99 ≤ 2 s")
    return table


if __name__ == "__main__":
    main()
