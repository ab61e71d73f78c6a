"""A client for the saga system tests: one supplier with factories, a buyer, an operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from shared.settings import DEFAULT_JWT_SECRET
from sharefab_cli.main import demo_tokens
from sharefab_cli.walkthrough import poll

CLUSTER = "saga-cluster"


class Saga:
    def __init__(self, endpoints) -> None:
        self.e = endpoints
        tokens = demo_tokens(DEFAULT_JWT_SECRET, CLUSTER)
        self.h = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
        self.t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)

    def post(self, service: str, path: str, who: str, body: dict | None = None,
             status: int = 201) -> dict:
        response = httpx.post(getattr(self.e, service) + path, headers=self.h[who], json=body)
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    def get(self, service: str, path: str, who: str, **params) -> dict:
        response = httpx.get(getattr(self.e, service) + path, headers=self.h[who], params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def explanation(self, step_id: str) -> dict | None:
        """The matcher's explanation of a step, or None while the matcher has not heard of it."""
        response = httpx.get(f"{self.e.matcher}/v1/steps/{step_id}/explanation",
                             headers=self.h["BUY"])
        if response.status_code == 404:  # order.submitted not consumed yet
            return None
        assert response.status_code == 200, response.text
        return response.json()

    def cluster(self, *, status: tuple[int, ...] = (201, 409)) -> None:
        """The saga's cluster (409: an earlier test of the module made it)."""
        response = httpx.post(f"{self.e.capacity}/v1/clusters", headers=self.h["OP"], json={
            "id": CLUSTER, "name": "Saga", "lat": 39.93, "lon": 119.60, "max_distance_km": 60})
        assert response.status_code in status, response.text

    def factory_with_window(self, name: str, rate: float, *, process: str = "cnc_milling",
                            lat: float = 39.95, later_h: float = 0) -> tuple[str, str]:
        """A verified factory with one machine and one 48-hour window of 20 hours, starting
        ``later_h`` after the saga's t0."""
        factory = self.post("capacity", "/v1/factories", "SUP", {
            "cluster_id": CLUSTER, "name": name, "lat": lat, "lon": 119.58,
            "declared_tier": "advanced", "sme": True, "certifications": []})
        self.post("capacity", f"/v1/factories/{factory['id']}/tier-verification", "OP",
                  {"tier": "advanced"}, status=200)
        machine = self.post("capacity", f"/v1/factories/{factory['id']}/machines", "SUP", {
            "name": "mill", "process": process, "materials": ["steel"], "hourly_rate": rate})
        start = self.t0 + timedelta(hours=later_h)
        window = self.post("capacity", f"/v1/machines/{machine['id']}/windows", "SUP", {
            "start": start.isoformat(), "end": (start + timedelta(hours=48)).isoformat(),
            "hours": 20.0})
        return factory["id"], window["id"]

    def order(self, *, process: str = "cnc_milling", steps: list[dict] | None = None) -> dict:
        """An order of one 5-hour step of ``process``, or of ``steps``."""
        body = {"cluster_id": CLUSTER, "title": "Saga brackets",
                "delivery": {"lat": 39.94, "lon": 119.55},
                "due": (self.t0 + timedelta(days=7)).isoformat(), "max_distance_km": 60,
                "steps": steps or [{"key": "mill", "process": process, "material": "steel",
                                    "quantity": 10, "hours": 5.0, "after": []}]}

        def submit():
            r = httpx.post(f"{self.e.orders}/v1/orders", headers=self.h["BUY"], json=body)
            return None if r.status_code == 422 and "cluster_id" in r.text else r

        response = poll(submit, timeout_s=30, what="orders to know the cluster")
        assert response.status_code == 201, response.text
        return response.json()

    def reservation(self, order_id: str, status: str, exclude: set[str] = frozenset()) -> dict:
        def find():
            items = self.get("capacity", "/v1/reservations", "SUP", status=status,
                             limit=200)["items"]
            return next((r for r in items if r["order_id"] == order_id
                         and r["id"] not in exclude), None)

        return poll(find, timeout_s=30, what=f"a {status} reservation of {order_id}")

    def free_hours(self, window_id: str) -> float:
        return self.get("capacity", f"/v1/windows/{window_id}", "SUP")["free_hours"]
