"""The DESIGN walk-through over HTTP: one order travelling through the running services.

Used by ``sharefab walkthrough`` (try it after ``make run``), the system tests and the benchmark.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


class WalkthroughError(RuntimeError):
    pass


@dataclass
class Endpoints:
    orders: str = "http://127.0.0.1:8001"
    capacity: str = "http://127.0.0.1:8002"
    matcher: str = "http://127.0.0.1:8003"


@dataclass
class WalkthroughResult:
    cluster_id: str
    factory_id: str
    machine_id: str
    window_id: str
    order_id: str
    step_id: str
    reservation_id: str
    order_to_held_s: float
    accept_to_allocated_s: float
    final_order: dict[str, Any] = field(repr=False, default_factory=dict)


def _expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise WalkthroughError(
            f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:500]}"
        )
    return response.json()


def poll(fetch: Callable[[], Any], *, timeout_s: float, what: str,
          interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(interval_s)
    raise WalkthroughError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Walkthrough:
    """Each call of ``run`` places one order; ``setup`` creates cluster and capacity once."""

    def __init__(self, endpoints: Endpoints, tokens: dict[str, str], *,
                 cluster_id: str = "qhd-auto", timeout_s: float = 30.0) -> None:
        self.e = endpoints
        self.cluster_id = cluster_id
        self.timeout_s = timeout_s
        self.http = httpx.Client(timeout=10)
        self.auth = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
        self.t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        self.factory_id = self.machine_id = self.window_id = ""
        self.posted_at = 0.0  # when the accepted order POST was sent

    def setup(self, *, window_hours: float = 20.0) -> None:
        e, a = self.e, self.auth
        response = self.http.post(f"{e.capacity}/v1/clusters", headers=a["OP"], json={
            "id": self.cluster_id, "name": "Qinhuangdao auto parts", "lat": 39.93, "lon": 119.60,
            "max_distance_km": 60})
        if response.status_code != 409:  # already there from an earlier run is fine
            _expect(response, 201, "create cluster")
        factory = _expect(self.http.post(f"{e.capacity}/v1/factories", headers=a["SUP"], json={
            "cluster_id": self.cluster_id, "name": "Haigang Precision", "lat": 39.95,
            "lon": 119.58, "declared_tier": "advanced", "sme": True,
            "certifications": ["ISO9001"]}), 201, "register factory")
        self.factory_id = factory["id"]
        verified = _expect(self.http.post(
            f"{e.capacity}/v1/factories/{self.factory_id}/tier-verification", headers=a["OP"],
            json={"tier": "advanced"}), 200, "verify tier")
        if verified["verified_tier"] != "advanced":
            raise WalkthroughError(f"tier not verified: {verified}")
        machine = _expect(self.http.post(
            f"{e.capacity}/v1/factories/{self.factory_id}/machines", headers=a["SUP"],
            json={"name": "5-axis mill", "process": "cnc_milling",
                  "materials": ["steel", "aluminium"], "hourly_rate": 180.0}),
            201, "add machine")
        self.machine_id = machine["id"]
        window = _expect(self.http.post(
            f"{e.capacity}/v1/machines/{self.machine_id}/windows", headers=a["SUP"],
            json={"start": self.t0.isoformat(), "end": (self.t0 + timedelta(hours=48)).isoformat(),
                  "hours": window_hours}), 201, "open window")
        self.window_id = window["id"]

    def post_order(self, *, hours: float = 6.0) -> dict[str, Any]:
        body = {
            "cluster_id": self.cluster_id, "title": "Brackets",
            "delivery": {"lat": 39.94, "lon": 119.55},
            "due": (self.t0 + timedelta(days=7)).isoformat(), "min_tier": "basic",
            "certifications": [], "max_distance_km": 60, "priority": 3,
            "steps": [{"key": "mill", "process": "cnc_milling", "material": "steel",
                       "quantity": 500, "hours": hours, "after": []}],
        }
        headers = {**self.auth["BUY"], "Idempotency-Key": uuid.uuid4().hex}
        url = f"{self.e.orders}/v1/orders"

        # The orders service learns clusters from capacity's events; right after the cluster
        # is created it may not know it yet (422 on cluster_id) — retry until it does.
        def submit() -> httpx.Response | None:
            self.posted_at = time.monotonic()
            response = self.http.post(url, headers=headers, json=body)
            if response.status_code == 422 and "cluster_id" in response.text:
                return None
            return response

        return _expect(poll(submit, timeout_s=self.timeout_s, what="orders to know the cluster"),
                       201, "post order")

    def held_reservation(self, order_id: str) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            page = _expect(self.http.get(f"{self.e.capacity}/v1/reservations",
                                         params={"status": "held", "order_id": order_id},
                                         headers=self.auth["SUP"]), 200, "list reservations")
            return next(iter(page["items"]), None)

        try:
            return poll(find, timeout_s=self.timeout_s,
                        what=f"a held reservation for {order_id}")
        except WalkthroughError as exc:
            raise WalkthroughError(f"{exc}{self._why_not_held(order_id)}") from exc

    def _why_not_held(self, order_id: str) -> str:
        """What the order says about itself, when the matcher left it unplaced."""
        response = self.http.get(f"{self.e.orders}/v1/orders/{order_id}",
                                 headers=self.auth["BUY"])
        if response.status_code != 200 or response.json()["status"] != "unplaced":
            return ""
        reasons = sorted({s["unplaced_reason"] or "?" for s in response.json()["steps"]})
        hint = (f"; other orders in cluster {self.cluster_id} took the capacity (after `sharefab "
                "demo`, say): --cluster with a new id runs the walk-through in a cluster of its "
                "own") if "capacity_taken" in reasons else ""
        return f": the matcher left the order unplaced ({', '.join(reasons)}){hint}"

    def wait_allocated(self, order_id: str) -> dict[str, Any]:
        def allocated() -> dict[str, Any] | None:
            current = _expect(self.http.get(f"{self.e.orders}/v1/orders/{order_id}",
                                            headers=self.auth["BUY"]), 200, "read order")
            return current if current["status"] == "allocated" else None

        return poll(allocated, timeout_s=self.timeout_s, what="the order to read allocated")

    def run(self) -> WalkthroughResult:
        order = self.post_order()
        reservation = self.held_reservation(order["id"])
        held = time.monotonic()
        accepted = _expect(self.http.post(
            f"{self.e.capacity}/v1/reservations/{reservation['id']}/accept",
            headers=self.auth["SUP"]), 200, "accept reservation")
        if accepted["status"] != "accepted":
            raise WalkthroughError(f"reservation not accepted: {accepted}")
        accept_at = time.monotonic()
        final = self.wait_allocated(order["id"])
        return WalkthroughResult(
            cluster_id=self.cluster_id, factory_id=self.factory_id, machine_id=self.machine_id,
            window_id=self.window_id, order_id=order["id"], step_id=order["steps"][0]["id"],
            reservation_id=reservation["id"], order_to_held_s=held - self.posted_at,
            accept_to_allocated_s=time.monotonic() - accept_at, final_order=final,
        )
