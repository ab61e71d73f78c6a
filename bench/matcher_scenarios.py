"""The matcher's optimiser on generated cluster scenarios (no timed assertion anywhere: numbers).

1. Eligibility: the vectorised index (solver/index.py) on 10,000 steps × 20,000 windows, best
   and median of ``--repeat`` runs (index build + every step's funnel).
2. Scenarios of ``--factories`` × ``--orders`` (default 400 × 1,500), one per seed: the
   optimiser with ``--time-limit`` seconds on ``--threads`` threads (status, objective, bound,
   gap, wall time, placed/unplaced steps, checker violations) and, in the same run, the plain
   greedy (solver/greedy.py) with its objective and wall time.

Usage: .venv/bin/python bench/matcher_scenarios.py [--time-limit 10] [--threads 2] [--seeds 1 2 3]
Writes bench/results/matcher-scenarios-<date>.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from report import write_report

from services.matcher.domain.scenario import from_scenario
from services.matcher.solver import greedy
from services.matcher.solver.check import check_plan
from services.matcher.solver.generate import generate
from services.matcher.solver.index import EligibilityIndex
from services.matcher.solver.solve import SolverOptions, solve


def eligibility_timing(repeat: int, steps: int = 10_000, windows: int = 20_000
                       ) -> dict[str, Any]:
    data = generate(factories=2400, orders=3400, seed=7)
    data["windows"] = data["windows"][:windows]
    kept, n = [], 0
    for o in data["orders"]:
        if n + len(o["steps"]) > steps:
            continue
        kept.append(o)
        n += len(o["steps"])
    data["orders"] = kept
    instance = from_scenario(data)
    times, pairs = [], 0
    for _ in range(repeat):
        clock = time.perf_counter()
        eligible = EligibilityIndex(instance).eligible()
        times.append(time.perf_counter() - clock)
        pairs = sum(len(e.windows) for e in eligible.values())
    return {"steps": n, "windows": len(instance.windows), "eligible_pairs": pairs,
            "best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
            "runs": repeat}


def scenario_run(*, factories: int, orders: int, seed: int, time_limit: float,
                 threads: int) -> dict[str, Any]:
    instance = from_scenario(generate(factories=factories, orders=orders, seed=seed))
    clock = time.perf_counter()
    plain = greedy.solve(instance)
    greedy_wall = time.perf_counter() - clock
    result = solve(instance, SolverOptions(time_limit_s=time_limit, threads=threads, seed=seed))
    plan = result.plan
    return {
        "scenario": instance.name, "factories": factories, "orders": orders,
        "steps": sum(len(o.steps) for o in instance.orders), "windows": len(instance.windows),
        "status": result.status, "objective": round(result.objective, 2),
        "bound": round(result.bound, 2), "gap": round(result.gap, 4),
        "wall_s": round(result.wall_s, 2), "time_limit_s": time_limit, "threads": threads,
        "placed_steps": len(plan.allocations), "unplaced_steps": len(plan.unplaced),
        "violations": len(check_plan(instance, plan)),
        "components": result.components,
        "chain_greedy_objective": round(result.stats["chain_greedy_objective"], 2),
        "greedy_objective": round(plain.objective, 2), "greedy_wall_s": round(greedy_wall, 2),
        "greedy_placed_steps": len(plain.allocations),
        "improvement_over_greedy": round(1 - result.objective / plain.objective, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factories", type=int, default=400)
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="eligibility timing runs")
    args = parser.parse_args()
    report = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "eligibility_10000x20000": eligibility_timing(args.repeat),
        "scenarios": [scenario_run(factories=args.factories, orders=args.orders, seed=s,
                                   time_limit=args.time_limit, threads=args.threads)
                      for s in args.seeds],
    }
    write_report("matcher-scenarios", report)
    print(json.dumps(report, indent=2))  # noqa: T201 (a script's output)


if __name__ == "__main__":
    main()
