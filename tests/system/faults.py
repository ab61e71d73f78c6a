"""A workload for the fault tests: one cluster with more capacity than its orders need, a
stream of single-step orders, and the oracle their final state is checked against.

Why an oracle rather than a reference run: every window is large enough for any step and the
cluster offers more hours than all orders ask for, so in an undisturbed run every order ends
with its step held — whichever window the solver picks. What a fault may change is only which
window a step lands on (timing decides the batches), never whether or how often it is held.
The oracle therefore checks, per order: its step is held exactly once (one reservation, one
``reservation.held`` in its timeline); per window: held hours = the sum of its reservations;
and in total: hours held = hours asked, nothing dead-lettered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from sharefab_cli.dlq_cli import read_dead_letters
from sharefab_cli.walkthrough import poll
from tests.helpers import bearer

logger = logging.getLogger(__name__)

MACHINES, WINDOW_HOURS = 4, 120.0


def step_hours(i: int) -> float:
    return float(1 + i % 3)  # 1, 2 or 3 h: 200 orders ask 399 h of the 480 h offered


@dataclass
class Workload:
    urls: dict[str, str]
    cluster: str
    t0: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0)
                         + timedelta(hours=1))
    order_ids: dict[int, str] = field(default_factory=dict)
    window_ids: list[str] = field(default_factory=list)
    retried: Counter[str] = field(default_factory=Counter)  # why submissions were retried

    def __post_init__(self) -> None:
        self.op = bearer("platform", "operator")
        self.sup = bearer("firm-s1", "supplier", self.cluster)
        self.buy = bearer("firm-b1", "buyer", self.cluster)

    # -- HTTP -----------------------------------------------------------------------------------
    def post(self, service: str, path: str, headers: dict[str, str], body: dict,
             status: int = 201) -> dict:
        response = httpx.post(self.urls[service] + path, headers=headers, json=body, timeout=30)
        assert response.status_code == status, response.text
        return response.json()

    def get_all(self, service: str, path: str, headers: dict[str, str], **params) -> list[dict]:  # type: ignore[no-untyped-def]
        items, cursor = [], None
        while True:
            response = httpx.get(self.urls[service] + path, headers=headers, timeout=30,
                                 params={**params, "limit": 200,
                                         **({"cursor": cursor} if cursor else {})})
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    # -- set-up and stream ----------------------------------------------------------------------
    def set_up(self) -> None:
        self.post("capacity", "/v1/clusters", self.op, {
            "id": self.cluster, "name": self.cluster, "lat": 39.93, "lon": 119.60,
            "max_distance_km": 60})
        factory = self.post("capacity", "/v1/factories", self.sup, {
            "cluster_id": self.cluster, "name": f"Mill {self.cluster}", "lat": 39.95,
            "lon": 119.58, "declared_tier": "advanced", "sme": True, "certifications": []})
        self.post("capacity", f"/v1/factories/{factory['id']}/tier-verification", self.op,
                  {"tier": "advanced"}, status=200)
        for m in range(MACHINES):
            machine = self.post("capacity", f"/v1/factories/{factory['id']}/machines", self.sup, {
                "name": f"mill {m}", "process": "cnc_milling", "materials": ["steel"],
                "hourly_rate": 150.0 + m})
            window = self.post("capacity", f"/v1/machines/{machine['id']}/windows", self.sup, {
                "start": self.t0.isoformat(),
                "end": (self.t0 + timedelta(hours=WINDOW_HOURS + 24)).isoformat(),
                "hours": WINDOW_HOURS})
            self.window_ids.append(window["id"])

    def order_body(self, i: int) -> dict:
        return {"cluster_id": self.cluster, "title": f"Part {i}",
                "delivery": {"lat": 39.94, "lon": 119.55},
                "due": (self.t0 + timedelta(days=14)).isoformat(), "max_distance_km": 60,
                "steps": [{"key": "mill", "process": "cnc_milling", "material": "steel",
                           "quantity": 10, "hours": step_hours(i), "after": []}]}

    def submit(self, i: int, timeout_s: float = 120) -> str:
        """POST order ``i`` until it is stored, the same Idempotency-Key every time (a retried
        POST after a crash or a 503 creates nothing twice)."""
        headers = {**self.buy, "Idempotency-Key": f"{self.cluster}-{i}"}

        def attempt() -> str | None:
            try:
                r = httpx.post(self.urls["orders"] + "/v1/orders", headers=headers,
                               json=self.order_body(i), timeout=30)
            except httpx.HTTPError as exc:
                self.retried[type(exc).__name__] += 1
                time.sleep(0.2)
                return None
            if r.status_code in (200, 201):
                return r.json()["id"]
            if r.status_code == 422 and "cluster_id" in r.text:
                return None  # orders has not learnt the cluster yet
            if r.status_code == 503:
                assert "retry-after" in r.headers, r.headers
                self.retried["503"] += 1
                time.sleep(min(1.0, float(r.headers["retry-after"])))
                return None
            raise AssertionError(f"order {i}: {r.status_code} {r.text}")

        order_id = poll(attempt, timeout_s=timeout_s, what=f"order {i} to be stored")
        self.order_ids[i] = order_id
        return order_id

    def stream(self, count: int, *, first: int = 0,
               midway: threading.Event | None = None) -> threading.Thread:
        """Submit orders ``first`` … ``first + count - 1`` one after another in a thread;
        ``midway`` is set once half of them are stored."""
        errors: list[BaseException] = []

        def run() -> None:
            try:
                for i in range(first, first + count):
                    self.submit(i)
                    if midway is not None and i - first + 1 == count // 2:
                        midway.set()
            except BaseException as exc:
                errors.append(exc)
                if midway is not None:
                    midway.set()

        thread = threading.Thread(target=run, name=f"stream-{self.cluster}")
        thread.errors = errors  # type: ignore[attr-defined]
        thread.start()
        return thread

    # -- the oracle -------------------------------------------------------------------------------
    def held_steps(self) -> dict[str, dict]:
        ours = set(self.order_ids.values())
        return {r["step_id"]: r for r in self.get_all("capacity", "/v1/reservations", self.op,
                                                       status="held") if r["order_id"] in ours}

    def steps_seen_held_by_orders(self) -> int:
        orders = self.get_all("orders", "/v1/orders", self.op, cluster_id=self.cluster)
        return sum(1 for o in orders for s in o["steps"] if s["status"] == "held")

    def wait_all_held(self, timeout_s: float = 120) -> None:
        """Until capacity holds every step and the orders service has heard of it."""
        want = len(self.order_ids)
        poll(lambda: len(self.held_steps()) >= want, timeout_s=timeout_s,
             what=f"all {want} orders of {self.cluster} held", interval_s=0.5)
        poll(lambda: self.steps_seen_held_by_orders() >= want, timeout_s=timeout_s,
             what=f"the orders service to see all {want} steps held", interval_s=0.5)

    def diagnose(self) -> str:
        """For a failed wait: each service's consumer lag, DLQ count and outbox backlog, and
        every order whose step the orders service does not show held, with its timeline and
        capacity's reservations of that step. Printed last, where a CI excerpt shows it."""
        lines = []
        for service, url in self.urls.items():
            try:
                text = httpx.get(url + "/metrics", timeout=10).text
            except httpx.HTTPError as exc:
                lines.append(f"{service}: /metrics unreachable ({type(exc).__name__})")
                continue
            wanted = ("sharefab_consumer_lag{", "sharefab_dlq_messages_total",
                      "sharefab_outbox_backlog")
            lines += [f"{service}: {line}" for line in text.splitlines()
                      if line.startswith(wanted) and not line.endswith(" 0.0")]
        try:
            orders = self.get_all("orders", "/v1/orders", self.op, cluster_id=self.cluster)
            reservations = self.get_all("capacity", "/v1/reservations", self.op)
        except (AssertionError, httpx.HTTPError) as exc:
            return "\n".join([*lines, f"orders or reservations unreadable: {exc}"])
        lines.append(f"orders listed: {len(orders)} of {len(self.order_ids)}")
        for order in orders:
            step = order["steps"][0]
            if step["status"] == "held":
                continue
            timeline = httpx.get(f"{self.urls['orders']}/v1/orders/{order['id']}/timeline",
                                 headers=self.buy, timeout=30).json().get("items", [])
            held = [(r["id"], r["status"], r["window_id"]) for r in reservations
                    if r["step_id"] == step["id"]]
            lines.append(f"order {order['id']} step {step['status']}; timeline "
                         f"{[(i['type'], i.get('summary')) for i in timeline]}; "
                         f"capacity: {held}")
        return "\n".join(lines)

    def check(self, bootstrap: str) -> dict[str, float]:
        """Assert the oracle; returns figures for the log."""
        ours = set(self.order_ids.values())
        orders = {o["id"]: o for o in self.get_all("orders", "/v1/orders", self.op,
                                                   cluster_id=self.cluster)}
        assert set(orders) == ours, "orders lost or created twice"
        reservations = [r for r in self.get_all("capacity", "/v1/reservations", self.op)
                        if r["order_id"] in ours]
        per_step = Counter(r["step_id"] for r in reservations)
        steps = {o["steps"][0]["id"]: o for o in orders.values()}
        assert set(per_step) == set(steps), "a step without a reservation"
        assert max(per_step.values()) == 1, "a step held twice"
        assert {r["status"] for r in reservations} == {"held"}
        for i, oid in self.order_ids.items():
            order = orders[oid]
            assert [s["status"] for s in order["steps"]] == ["held"], order
            r = next(r for r in reservations if r["order_id"] == oid)
            assert r["hours"] == step_hours(i)
        asked = sum(step_hours(i) for i in self.order_ids)
        held = 0.0
        for wid in self.window_ids:
            w = httpx.get(f"{self.urls['capacity']}/v1/windows/{wid}", headers=self.sup,
                          timeout=30).json()
            assert w["held_hours"] == sum(r["hours"] for r in reservations
                                          if r["window_id"] == wid)
            assert w["held_hours"] + w["accepted_hours"] <= w["hours"]
            held += w["held_hours"]
        assert held == asked
        for oid in ours:  # every effect reached the buyer's timeline once
            timeline = httpx.get(f"{self.urls['orders']}/v1/orders/{oid}/timeline",
                                 headers=self.buy, timeout=30).json()["items"]
            types = Counter(item["type"] for item in timeline)
            assert types["order.submitted"] == 1 and types["reservation.held"] == 1, types
            # planned once: no second proposal, no rejection of a double hold
            assert types["allocation.proposed"] == 1, types
            assert types["reservation.rejected"] == 0 and types["step.unplaced"] == 0, types
        dead = read_dead_letters([bootstrap], ["orders.v1", "capacity.v1", "matching.v1"])
        assert dead == [], [(d.id, d.error) for d in dead]
        return {"orders": len(ours), "hours_asked": asked, "hours_held": held,
                "statuses": dict(Counter(o["status"] for o in orders.values()))}


def events_on(bootstrap: str, topic: str, *, key: str) -> list[str]:
    """The types of every event with ``key`` on ``topic``, read from the beginning."""
    from kafka import KafkaConsumer, TopicPartition

    from shared.events import decode

    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return [decode(r.value)[0].type for r in consumer if r.key == key.encode()]
    finally:
        consumer.close()
