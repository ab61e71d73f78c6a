"""The PNG of ``make bench``: latency percentiles over time and throughput (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402


def plot(report: dict[str, Any], path: Path) -> Path:
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    (lat_ax, flow_ax), (load_ax, bar_ax) = axes
    colours = {"p50_s": "tab:green", "p95_s": "tab:orange", "p99_s": "tab:red"}
    for n, (name, latency) in enumerate(report["latency"].items()):
        style = ("-", "--", ":", "-.")[n % 4]
        for key, colour in colours.items():
            points = [(b["t_s"], b[key]) for b in latency["series"] if b[key] is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                lat_ax.plot(xs, ys, style, color=colour, label=f"{key[:3]} ({name})")
    lat_ax.axhline(2.0, color="grey", linewidth=0.8, linestyle=":", label="target p99 2 s")
    lat_ax.set(title="order → first proposal, by send time (5 s buckets)",
               xlabel="seconds into the sustained load", ylabel="seconds")
    lat_ax.legend(fontsize=7, ncol=2)

    for name, latency in report["latency"].items():
        xs = [b["t_s"] for b in latency["series"]]
        flow_ax.plot(xs, [b["sent_per_s"] for b in latency["series"]],
                     label=f"orders sent/s ({name})")
        line = flow_ax.plot(xs, [b["proposed_per_s"] for b in latency["series"]],
                            linestyle="--", label=f"orders first proposed/s ({name})")
        if all("answered_per_s" in b for b in latency["series"]):  # reports from 2026-12-05
            flow_ax.plot(xs, [b["answered_per_s"] for b in latency["series"]], linestyle=":",
                         color=line[0].get_color(),
                         label=f"orders answered/s, proposed or unplaced ({name})")
    flow_ax.set(title="sustained load: orders sent, proposed, answered", xlabel="seconds",
                ylabel="orders per second")
    flow_ax.legend(fontsize=7)

    tp = report["throughput"]
    for name, colour in (("hello_world", "tab:blue"), ("orders_post_alone", "tab:pink"),
                         ("orders_post", "tab:purple")):
        if name not in tp:  # reports before 2026-12-04 have no orders_post_alone
            continue
        series = tp[name]["per_second"]
        load_ax.plot(range(len(series)), series, color=colour,
                     label=f"{name.replace('_', ' ')}: {tp[name]['req_per_s']:,.0f} req/s")
    load_ax.set(title=f"closed loop, {tp['connections']} connections (ratio "
                      f"{tp['ratio']})", xlabel="seconds", ylabel="answers per second")
    load_ax.set_yscale("log")
    load_ax.legend(fontsize=8)

    bars = {"hello world\nreq/s": (tp["hello_world"]["req_per_s"], "tab:blue")}
    if "orders_post_alone" in tp:
        bars["POST /v1/orders\nservice alone"] = (tp["orders_post_alone"]["req_per_s"],
                                                  "tab:pink")
    bars["POST /v1/orders\nreq/s"] = (tp["orders_post"]["req_per_s"], "tab:purple")
    bars["orders:batch\norders/s"] = (report["batch"]["orders_per_s"], "tab:cyan")
    drawn = bar_ax.bar(list(bars), [v for v, _ in bars.values()],
                       color=[c for _, c in bars.values()])
    bar_ax.bar_label(drawn, labels=[f"{v:,.0f}" for v, _ in bars.values()])
    bar_ax.set(title="throughput", ylabel="per second")
    fig.suptitle(f"sharefab bench {report['at'][:16]} UTC — {report['machine']['cpus']} CPUs, "
                 f"load average before {report['machine']['loadavg_before']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
