"""Phase 3 of ``make bench``: a sustained arrival rate (100 orders/s for 60 s) on a freshly
started stack with a seeded cluster, and each order's latency from its POST to its first
proposal.

The cluster is `sharefab demo`'s (the matcher's scenario generator: factories of every tier,
machines, idle windows), seeded through the public APIs; the orders are the generator's too
(process chains of one to four steps). Requests start on a fixed schedule whatever the answers
take (open loop). Afterwards, every accepted order's timeline gives the time of its first
``allocation.proposed`` (or ``step.unplaced``) event; latency = that time − the time the POST
was sent (one machine, one clock). An order with neither is lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from load import ConnectionPool, open_loop, percentile, summarise
from threads import ThreadCpu, process_ticks

from services.matcher.solver.generate import generate
from shared.auth import Role
from sharefab_cli.demo import Demo, order_body, seed_cluster
from sharefab_cli.ops_client import ServiceClient, mint
from sharefab_cli.stack import StackConfig

CLUSTER = "bench-c"
BUYERS = 20


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seed(config: StackConfig, *, factories: int, orders: int) -> tuple[Demo, dict[str, Any]]:
    operator = mint(firm="platform", role=Role.OPERATOR)
    run = Demo(capacity=ServiceClient("capacity", config.url("capacity"), operator),
               orders=ServiceClient("orders", config.url("orders"), operator),
               matcher=ServiceClient("matcher", config.url("matcher"), operator),
               cluster=CLUSTER, seed=1)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    scenario = generate(factories=factories, orders=orders, seed=1, now=now)
    seed_cluster(run, scenario)
    # orders learns the cluster from capacity's event; one order proves it has
    buyer = run.orders.with_token(mint(firm="bench-buyer-00", role=Role.BUYER,
                                       clusters=[CLUSTER]))
    probe = order_body(scenario["orders"][0], cluster=CLUSTER, factory_ids=run.factory_ids,
                       title="probe")
    run.submit(buyer, probe, wait_s=60)
    return run, scenario


async def _post_all(config: StackConfig, bodies: list[dict[str, Any]], *, rate: float,
                    duration_s: float) -> tuple[list[dict[str, Any]], float]:
    tokens = [mint(firm=f"bench-buyer-{k:02d}", role=Role.BUYER, clusters=[CLUSTER])
              for k in range(BUYERS)]
    sent: list[dict[str, Any]] = []
    # the light client of load.py, not httpx: at 100 requests/s httpx alone takes about half a
    # core, which the system under test would lose; the Idempotency-Key makes a resend safe
    url = httpx.URL(config.url("orders"))
    pool = ConnectionPool(url.host, url.port or 80, size=64)
    encoded = [json.dumps(b).encode() for b in bodies]

    async def send(i: int) -> None:
        token = tokens[i % BUYERS]
        at = datetime.now(UTC)
        t0 = time.monotonic()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex,
                   "Content-Type": "application/json"}
        try:
            status, body = await asyncio.wait_for(pool.request(
                "POST", "/v1/orders", headers, encoded[i % len(encoded)]), timeout=60)
            oid = json.loads(body).get("id") if status == 201 else None
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            status, oid = 0, None
        sent.append({"i": i, "sent_at": at, "answer_s": time.monotonic() - t0,
                     "status": status, "id": oid, "token": token})

    try:
        start = await open_loop(send, rate=rate, duration_s=duration_s)
    finally:
        pool.close()
    return sorted(sent, key=lambda s: s["i"]), start


def wait_planned(run: Demo, *, timeout_s: float) -> float:
    """Until no order of the cluster waits for its first plan; answers the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        page = run.orders.get("/v1/orders", cluster_id=CLUSTER, status="submitted", limit=1)
        if not page["items"]:
            break
        time.sleep(1.0)
    return time.monotonic() - started


async def _unanswered(config: StackConfig, sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders the server stored whose POST got no answer in time: every bench buyer's orders
    listed, less those whose id came back (and the seeding probe)."""
    known = {s["id"] for s in sent if s["id"]}
    found: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=config.url("orders"), timeout=60) as http:
        for token in sorted({s["token"] for s in sent}):
            cursor = None
            while True:
                params = {"cluster_id": CLUSTER, "limit": 200, **({"cursor": cursor} if cursor
                                                                   else {})}
                r = await http.get("/v1/orders", params=params,
                                   headers={"Authorization": f"Bearer {token}"})
                r.raise_for_status()
                page = r.json()
                found += [{"id": o["id"], "token": token, "title": o["title"]}
                          for o in page["items"] if o["id"] not in known
                          and o["title"] != "probe"]
                cursor = page["next_cursor"]
                if not cursor:
                    break
    return found


async def _outcomes(config: StackConfig, sent: list[dict[str, Any]]) -> None:
    """Each accepted order's first proposal and first unplaced time, from its timeline."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=config.url("orders"), timeout=60) as http:
        async def one(s: dict[str, Any]) -> None:
            async with gate:
                r = await http.get(f"/v1/orders/{s['id']}/timeline", params={"limit": 200},
                                   headers={"Authorization": f"Bearer {s['token']}"})
            r.raise_for_status()
            items = r.json()["items"]
            s["proposed_at"] = next((_at(e["occurred_at"]) for e in items
                                     if e["type"] == "allocation.proposed"), None)
            s["unplaced_at"] = next((_at(e["occurred_at"]) for e in items
                                     if e["type"] == "step.unplaced"), None)

        await asyncio.gather(*(one(s) for s in sent if s["id"]))


def buckets(sent: list[dict[str, Any]], *, start: datetime, width_s: float,
            count: int) -> list[dict[str, Any]]:
    """Per ``width_s``: orders sent, orders first proposed, orders first answered (proposed
    or unplaced, whichever came first: once the cluster's hours are taken, the answers are
    unplaced steps), and the latency percentiles of the orders sent then."""
    out = []
    for b in range(count):
        lo, hi = b * width_s, (b + 1) * width_s
        mine = [s for s in sent if lo <= (s["sent_at"] - start).total_seconds() < hi]
        lat = [s["latency_s"] for s in mine if s.get("latency_s") is not None]
        proposed = sum(1 for s in sent if s.get("proposed_at") is not None
                       and lo <= (s["proposed_at"] - start).total_seconds() < hi)
        answered = sum(1 for s in sent if s.get("outcome_s") is not None
                       and lo <= (s["sent_at"] - start).total_seconds() + s["outcome_s"] < hi)
        out.append({"t_s": lo, "sent_per_s": round(len(mine) / width_s, 1),
                    "proposed_per_s": round(proposed / width_s, 1),
                    "answered_per_s": round(answered / width_s, 1),
                    **{f"p{q}_s": percentile(lat, q) for q in (50, 95, 99)}})
    return out


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds used so far by each process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    return {name: process_ticks(pid) / tick for name, pid in pids.items()}


def run(config: StackConfig, *, rate: float, duration_s: float, factories: int,
        settle_s: float, pids: dict[str, int] | None = None) -> dict[str, Any]:
    orders = int(rate * duration_s)
    demo, scenario = seed(config, factories=factories, orders=orders)
    bodies = [order_body(o, cluster=CLUSTER, factory_ids=demo.factory_ids, title=f"Lot {j}")
              for j, o in enumerate(scenario["orders"])]
    first = datetime.now(UTC)
    threads = {name: ThreadCpu(pid).start() for name, pid in (pids or {}).items()
               if name != "broker"}
    cpu_before = cpu_seconds(pids or {})
    sent, _ = asyncio.run(_post_all(config, bodies, rate=rate, duration_s=duration_s))
    waited = wait_planned(demo, timeout_s=settle_s)
    cpu_used = {k: v - cpu_before[k] for k, v in cpu_seconds(pids or {}).items()}
    thread_used = {name: t.used() for name, t in threads.items()}
    unanswered = asyncio.run(_unanswered(config, sent))
    asyncio.run(_outcomes(config, sent + unanswered))
    for u in unanswered:
        u["stored_without_answer"] = True
    for s in sent:
        s["latency_s"] = ((s["proposed_at"] - s["sent_at"]).total_seconds()
                          if s.get("proposed_at") else None)
        firsts = [t for t in (s.get("proposed_at"), s.get("unplaced_at")) if t is not None]
        s["outcome_s"] = (min(firsts) - s["sent_at"]).total_seconds() if firsts else None
    accepted = [s for s in sent if s["id"]]
    stats = demo.matcher.get("/v1/stats", cluster=CLUSTER, window="15m")
    return {
        "rate_per_s": rate, "duration_s": duration_s, "cluster_factories": factories,
        "orders_sent": len(sent), "orders_accepted": len(accepted),
        "post_errors": {str(k): v for k, v in _count(s["status"] for s in sent
                                                    if not s["id"]).items()},
        # stored though the client saw no answer (its POST timed out): found by listing
        "stored_without_answer": len(unanswered),
        "lost": sum(1 for s in accepted if s["outcome_s"] is None)
        + sum(1 for u in unanswered if u.get("proposed_at") is None
              and u.get("unplaced_at") is None),
        "proposed": sum(1 for s in accepted if s["latency_s"] is not None),
        "unplaced_only": sum(1 for s in accepted if s["latency_s"] is None
                             and s["outcome_s"] is not None),
        "waited_for_plans_s": round(waited, 1),
        "post_answer": summarise([s["answer_s"] for s in sent]),
        "order_to_proposal": summarise([s["latency_s"] for s in accepted
                                        if s["latency_s"] is not None]),
        "order_to_first_outcome": summarise([s["outcome_s"] for s in accepted
                                             if s["outcome_s"] is not None]),
        "matcher_stats_latency": stats["latency"], "match_rate": stats["match_rate"],
        "match_runs": stats["match_runs_total"],
        "series": buckets(sent, start=first, width_s=5.0, count=int(duration_s // 5) or 1),
        # from the first POST until every order had its first plan: where the cores went
        "cpu_ms_per_accepted_order": {
            name: round(1000 * used / max(1, len(accepted)), 1) for name, used in cpu_used.items()},
        # the services' share of that, thread by thread (bench/threads.py)
        "cpu_ms_per_accepted_order_by_thread": {
            name: {thread: round(1000 * used / max(1, len(accepted)), 2)
                   for thread, used in by_thread.items()}
            for name, by_thread in thread_used.items()},
    }


def _count(values: Any) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
