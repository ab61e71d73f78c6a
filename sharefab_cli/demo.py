"""``sharefab demo``: seed a realistic cluster into a running system, then stream orders.

The cluster comes from the matcher's scenario generator (``services/matcher/solver/generate.py``:
factories of every tier around Qinhuangdao, SMEs, certificates, machines with rates, idle
windows over four weeks, orders along process chains). Everything goes in through the public
APIs with tokens minted like ``sharefab token`` mints them: the operator creates the cluster and
verifies tiers, one supplier firm per factory registers it, adds its machines and imports its
windows as CSV, and a handful of buyers place the orders at ``--rate`` per second. Then the
suppliers answer the holds: they accept ``--accept`` of them and decline the rest (the matcher
plans those steps elsewhere). Of the orders whose every step they accepted, they report the
work of the first ``--complete`` started and completed, and the first steps of the others
started, so the operator's view shows the whole cycle.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from graphlib import TopologicalSorter
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.matcher.solver.generate import CENTRE, generate
from shared.auth import Role
from sharefab_cli.ops_cli import client, console, reported
from sharefab_cli.ops_client import DEFAULT_URLS, OpsError, ServiceClient, mint

PLACES = ("Haigang", "Beidaihe", "Shanhaiguan", "Funing", "Changli", "Lulong", "Qinglong",
          "Haishi", "Jinshan", "Nandaihe", "Qinhuang", "Yanshan")
TRADES = ("Precision", "Machinery", "Metalworks", "Auto Parts", "Tooling", "Fabrication",
          "Components", "Industrial", "Engineering", "Manufacturing")
PENDING_STATUSES = {"submitted"}  # no step planned yet
DECLINED = "machine booked for the firm's own work that week"


@dataclass
class Outcome:
    factories: int = 0
    machines: int = 0
    windows: int = 0
    orders_sent: int = 0
    order_ids: list[str] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)  # order id → its number of steps
    refused: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    declined: int = 0
    orders_completed: int = 0
    steps_completed: int = 0
    orders_started: int = 0  # wholly accepted, not completed: their first steps under way
    steps_started: int = 0


def factory_name(i: int, rng: random.Random) -> str:
    return f"{rng.choice(PLACES)} {rng.choice(TRADES)} {i + 1:02d}"


def order_body(order: dict[str, Any], *, cluster: str, factory_ids: dict[str, str],
               title: str) -> dict[str, Any]:
    """A generated order as the orders API takes it (scenario factory ids → real ones)."""
    keys = {s["id"]: f"s{k + 1}" for k, s in enumerate(order["steps"])}
    return {
        "cluster_id": cluster, "title": title,
        "delivery": {"lat": order["lat"], "lon": order["lon"]}, "due": order["due"],
        "min_tier": order["min_tier"], "certifications": order["certifications"],
        "max_distance_km": order["max_distance_km"], "priority": order["priority"],
        "budget": order["budget"], "max_factories": order["max_factories"],
        "allowed_factories": [factory_ids[f] for f in order["allowed_factories"]
                              if f in factory_ids],
        "blocked_factories": [factory_ids[f] for f in order["blocked_factories"]
                              if f in factory_ids],
        "steps": [{"key": keys[s["id"]], "process": s["process"], "material": s["material"],
                   "quantity": 50 * (1 + (len(s["id"]) * 7 + k * 13) % 20), "hours": s["hours"],
                   "after": [keys[a] for a in s["after"]]}
                  for k, s in enumerate(order["steps"])],
    }


def window_rows(windows: list[dict[str, Any]], machine_ids: dict[str, str]) -> str:
    """The CSV ``POST /v1/windows:import`` takes; hours fit the window and are positive."""
    lines = ["machine_id,start,end,hours"]
    for w in windows:
        start = datetime.fromisoformat(w["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(w["end"].replace("Z", "+00:00"))
        hours = min(float(w["hours"]), (end - start).total_seconds() / 3600)
        if hours > 0 and w["machine_id"] in machine_ids:
            lines.append(f"{machine_ids[w['machine_id']]},{w['start']},{w['end']},{hours:g}")
    return "\n".join(lines) + "\n"


class Demo:
    def __init__(self, *, capacity: ServiceClient, orders: ServiceClient,
                 matcher: ServiceClient, cluster: str, seed: int) -> None:
        self.capacity, self.orders, self.matcher = capacity, orders, matcher
        self.cluster, self.seed = cluster, seed
        self.outcome = Outcome()
        self.factory_ids: dict[str, str] = {}  # scenario id → the id capacity gave
        self.suppliers: list[ServiceClient] = []  # one firm per factory, with its token

    def create_cluster(self) -> None:
        self.capacity.request("POST", "/v1/clusters", ok=(201, 409), json={
            "id": self.cluster, "name": f"{self.cluster} (demo)", "lat": CENTRE[0],
            "lon": CENTRE[1], "max_distance_km": 60})

    def seed_factory(self, fac: dict[str, Any], machines: list[dict[str, Any]],
                     windows: list[dict[str, Any]], name: str) -> str:
        supplier = self.capacity.with_token(mint(firm=f"demo-{fac['firm_id']}",
                                                 role=Role.SUPPLIER, clusters=[self.cluster]))
        self.suppliers.append(supplier)
        made = supplier.post("/v1/factories", {
            "cluster_id": self.cluster, "name": name, "lat": fac["lat"], "lon": fac["lon"],
            "declared_tier": fac["tier"], "sme": fac["sme"],
            "certifications": fac["certifications"]})
        self.capacity.post(f"/v1/factories/{made['id']}/tier-verification",
                           {"tier": fac["tier"]})
        machine_ids = {}
        for k, m in enumerate(machines):
            machine_ids[m["id"]] = supplier.post(f"/v1/factories/{made['id']}/machines", {
                "name": f"{m['process'].replace('_', ' ')} {k + 1}", "process": m["process"],
                "materials": m["materials"], "hourly_rate": m["hourly_rate"]})["id"]
        csv = window_rows(windows, machine_ids)
        if csv.count("\n") > 1:
            imported = supplier.post("/v1/windows:import", content=csv.encode(),
                                     headers={"Content-Type": "text/csv"})
            self.outcome.windows += imported["imported"]
        self.outcome.factories += 1
        self.outcome.machines += len(machine_ids)
        return str(made["id"])

    def submit(self, buyer: ServiceClient, body: dict[str, Any], *, wait_s: float) -> None:
        """POST one order; right after the cluster is created orders may not know it yet (it
        learns clusters from capacity's events): retry that refusal for ``wait_s``."""
        deadline = time.monotonic() + wait_s
        headers = {"Idempotency-Key": f"demo-{uuid.uuid4().hex}"}
        while True:
            response = buyer.request("POST", "/v1/orders", ok=(201, 409, 422, 429), json=body,
                                     headers=headers)
            unknown = response.status_code == 422 and "cluster_id" in response.text
            if not unknown or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.outcome.orders_sent += 1
        if response.status_code == 201:
            self.outcome.order_ids.append(response.json()["id"])
            self.outcome.steps[response.json()["id"]] = len(body["steps"])
        else:
            self.outcome.refused[buyer.explain(response, "POST /v1/orders")[:160]] += 1

    def held(self) -> list[tuple[ServiceClient, dict[str, Any]]]:
        """Each supplier's held reservations of this run's orders."""
        return [(supplier, r) for supplier in self.suppliers
                for r in supplier.items("/v1/reservations", status="held", limit=200)
                if r["order_id"] in self.outcome.steps]

    def answer(self, supplier: ServiceClient, reservation: dict[str, Any], *,
               accept: bool) -> bool:
        """Accept or decline one hold; False if it ended meanwhile (expired, released)."""
        path = f"/v1/reservations/{reservation['id']}/" + ("accept" if accept else "decline")
        response = supplier.request("POST", path, ok=(200, 409),
                                    json=None if accept else {"reason": DECLINED})
        return response.status_code == 200

    def statuses(self, since: datetime) -> Counter[str]:
        """Status → count of this cluster's orders created since ``since`` (operator view)."""
        return Counter(o["status"] for o in self.orders.items(
            "/v1/orders", cluster_id=self.cluster, limit=200, created_from=since.isoformat()))


def demo(
    ctx: typer.Context,
    orders_url: Annotated[str, typer.Option(envvar="SHAREFAB_ORDERS_URL")] = DEFAULT_URLS["orders"],
    capacity_url: Annotated[str, typer.Option(envvar="SHAREFAB_CAPACITY_URL")] = DEFAULT_URLS[
        "capacity"],
    matcher_url: Annotated[str, typer.Option(envvar="SHAREFAB_MATCHER_URL")] = DEFAULT_URLS[
        "matcher"],
    cluster: Annotated[str, typer.Option(help="cluster id to create or reuse")] = "qhd-auto",
    factories: Annotated[int, typer.Option(min=1, max=500, help="factories to seed")] = 30,
    orders: Annotated[int, typer.Option(min=0, max=20000, help="orders to stream")] = 200,
    rate: Annotated[float, typer.Option(min=0.1, max=500, help="orders per second")] = 5.0,
    buyers: Annotated[int, typer.Option(min=1, max=100, help="buyer firms")] = 8,
    seed: Annotated[int, typer.Option(help="same seed, same cluster and orders")] = 0,
    settle: Annotated[float, typer.Option(min=0, help="seconds to wait for every order's "
                                                     "first plan")] = 30.0,
    accept: Annotated[float, typer.Option(min=0, max=1, help="share of the holds the suppliers "
                                          "accept; they decline the rest")] = 0.9,
    complete: Annotated[float, typer.Option(min=0, max=1, help="share of the wholly accepted "
                                            "orders whose work is reported done; the others' "
                                            "first steps are reported started")] = 0.5,
) -> None:
    """Seed a realistic demo cluster into the running services, then stream orders."""
    with reported():
        operator = mint(firm="platform", role=Role.OPERATOR)
        run = Demo(capacity=client(ctx, "capacity", capacity_url, operator),
                   orders=client(ctx, "orders", orders_url, operator),
                   matcher=client(ctx, "matcher", matcher_url, operator),
                   cluster=cluster, seed=seed)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        scenario = generate(factories=factories, orders=orders, seed=seed, now=now)
        seed_cluster(run, scenario)
        started = datetime.now(UTC) - timedelta(seconds=1)
        _stream(run, scenario, buyers=buyers, rate=rate, orders_url=orders_url)
        _settle(run, started, settle_s=settle, what="the matcher to plan every order",
                done=lambda c: not any(c[s] for s in PENDING_STATUSES), interval_s=1.0)
        _work(run, accept=accept, complete=complete)
        counts = _settle(run, started, settle_s=settle,
                         what="the orders service to hear of the work done",
                         done=lambda c: (c["completed"] >= run.outcome.orders_completed
                                         and c["in_production"] >= run.outcome.orders_started),
                         interval_s=0.5)
        stats = run.matcher.get("/v1/stats", cluster=cluster, window="1h")
        _summary(run, counts, stats)


def seed_cluster(run: Demo, scenario: dict[str, Any]) -> None:
    rng = random.Random(run.seed)
    machines: dict[str, list[dict[str, Any]]] = {}
    for m in scenario["machines"]:
        machines.setdefault(m["factory_id"], []).append(m)
    windows: dict[str, list[dict[str, Any]]] = {}
    factory_of = {m["id"]: m["factory_id"] for m in scenario["machines"]}
    for w in scenario["windows"]:
        windows.setdefault(factory_of[w["machine_id"]], []).append(w)
    run.create_cluster()
    with _progress() as bar:
        task = bar.add_task("seeding factories", total=len(scenario["factories"]))
        for i, fac in enumerate(scenario["factories"]):
            run.factory_ids[fac["id"]] = run.seed_factory(
                fac, machines.get(fac["id"], []), windows.get(fac["id"], []),
                factory_name(i, rng))
            bar.advance(task)
    o = run.outcome
    console.print(f"cluster [bold]{run.cluster}[/bold]: {o.factories} factories, "
                  f"{o.machines} machines, {o.windows} idle windows")


def _stream(run: Demo, scenario: dict[str, Any], *, buyers: int, rate: float,
            orders_url: str) -> None:
    clients = [run.orders.with_token(mint(firm=f"demo-buyer-{k + 1:02d}", role=Role.BUYER,
                                          clusters=[run.cluster])) for k in range(buyers)]
    todo = scenario["orders"]
    with _progress() as bar:
        task = bar.add_task(f"orders at {rate:g}/s", total=len(todo))
        start = time.monotonic()
        for j, order in enumerate(todo):
            if (delay := start + j / rate - time.monotonic()) > 0:
                time.sleep(delay)
            body = order_body(order, cluster=run.cluster, factory_ids=run.factory_ids,
                              title=f"Demo lot {j + 1:04d} ({order['steps'][0]['process']})")
            run.submit(clients[j % buyers], body, wait_s=30.0 if j == 0 else 0.0)
            bar.advance(task)


def _work(run: Demo, *, accept: float, complete: float) -> None:
    """The suppliers answer their holds, then report the work of ``complete`` of the wholly
    accepted orders started and completed, and the first steps of the others started."""
    rng = random.Random(run.seed + 1)
    holds = run.held()
    accepted: dict[str, list[tuple[ServiceClient, dict[str, Any]]]] = {}
    with _progress() as bar:
        task = bar.add_task("suppliers answering holds", total=len(holds))
        for supplier, reservation in holds:
            yes = rng.random() < accept
            if run.answer(supplier, reservation, accept=yes):
                if yes:
                    run.outcome.accepted += 1
                    accepted.setdefault(reservation["order_id"], []).append(
                        (supplier, reservation))
                else:
                    run.outcome.declined += 1
            bar.advance(task)
    whole = sorted(o for o, held in accepted.items() if len(held) == run.outcome.steps[o])
    done = math.ceil(len(whole) * complete)
    with _progress() as bar:
        task = bar.add_task("suppliers reporting their work", total=len(whole))
        for order_id in whole[:done]:
            for supplier, reservation in _in_step_order(accepted[order_id]):
                supplier.post(f"/v1/reservations/{reservation['id']}/start")
                supplier.post(f"/v1/reservations/{reservation['id']}/complete")
                run.outcome.steps_completed += 1
            run.outcome.orders_completed += 1
            bar.advance(task)
        for order_id in whole[done:]:  # under way: the steps that come after no other
            for supplier, reservation in accepted[order_id]:
                if not _preceding(reservation):
                    supplier.post(f"/v1/reservations/{reservation['id']}/start")
                    run.outcome.steps_started += 1
            run.outcome.orders_started += 1
            bar.advance(task)


def _in_step_order(work: list[tuple[ServiceClient, dict[str, Any]]]
                   ) -> list[tuple[ServiceClient, dict[str, Any]]]:
    """An order's reservations with each after the steps its job comes after: capacity takes
    work reported in that order only."""
    by_step = {r["step_id"]: (supplier, r) for supplier, r in work}
    graph = {step: _preceding(r) for step, (_, r) in by_step.items()}
    return [by_step[step] for step in TopologicalSorter(graph).static_order()
            if step in by_step]


def _preceding(reservation: dict[str, Any]) -> set[str]:
    """The ids of the steps a reservation's job comes after (none for a job not described)."""
    return {p["step_id"] for p in (reservation["job"] or {}).get("after", [])}


def _settle(run: Demo, since: datetime, *, settle_s: float, what: str,
            done: Callable[[Counter[str]], bool], interval_s: float) -> Counter[str]:
    """The statuses of the orders made since ``since`` once ``done`` holds of them, or when
    ``settle_s`` have passed (the summary then shows what is still waiting)."""
    deadline = time.monotonic() + settle_s
    with console.status(f"waiting for {what} …"):
        while True:
            counts = run.statuses(since)
            if done(counts) or time.monotonic() > deadline:
                return counts
            time.sleep(interval_s)


def _summary(run: Demo, counts: Counter[str], stats: dict[str, Any]) -> None:
    o = run.outcome
    table = Table(title=f"demo summary — cluster {run.cluster}", show_header=False,
                  title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("orders sent / accepted", f"{o.orders_sent} / {len(o.order_ids)}")
    for status, n in sorted(counts.items()):
        table.add_row(f"  orders {status}", str(n))
    table.add_row("steps placed / unplaced (last 1h)",
                  f"{stats['steps_placed']} / {stats['steps_unplaced']}")
    rate = stats["match_rate"]
    table.add_row("match rate", "—" if rate is None else f"{rate * 100:.1f} %")
    lat = stats["latency"]
    table.add_row("order → proposal p50 / p95 / p99", " / ".join(
        "—" if lat[k] is None else f"{lat[k]:.2f} s" for k in ("p50_s", "p95_s", "p99_s")))
    for reason, n in sorted(stats["unplaced_reasons"].items(), key=lambda kv: -kv[1]):
        table.add_row(f"  unplaced: {reason}", str(n))
    table.add_row("holds accepted / declined", f"{o.accepted} / {o.declined}")
    table.add_row("work reported done (orders / steps)",
                  f"{o.orders_completed} / {o.steps_completed}")
    table.add_row("work under way (orders / steps started)",
                  f"{o.orders_started} / {o.steps_started}")
    console.print(table)
    for message, n in o.refused.most_common(5):
        console.print(f"[yellow]{n} order(s) refused:[/yellow] {message}")
    if any(s in PENDING_STATUSES for s in counts):
        raise OpsError("some orders were not planned within --settle seconds; is the "
                       "matcher running? (`sharefab stats` shows its runs)")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)
