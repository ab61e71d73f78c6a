"""Synthetic cluster scenarios (DESIGN §4's scenario format) for benchmarks and what-if runs.

A cluster around Qinhuangdao: factories scattered around the centre (about one in ten beyond
the 60 km circle), tiers and certificates skewed towards the lower tiers, seven in ten SMEs,
2–5 machines each with a process, the materials it takes and an hourly rate per process (higher
tiers charge more), capacity windows over the next four weeks. Orders follow process chains
(cut → mill → heat-treat → coat and the like, each step after the previous one), with due
dates one to four weeks out, priorities, and some buyer controls (certificates, minimum tier,
budgets, blocked or allowed factories, ``max_factories``). The same seed gives the same JSON.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

CENTRE = (39.93, 119.60)
KM_PER_DEG_LAT = 111.2

RATES = {  # CNY per machine hour, basic tier
    "laser_cutting": 160.0, "cnc_milling": 180.0, "cnc_turning": 150.0, "grinding": 170.0,
    "heat_treatment": 120.0, "surface_coating": 90.0, "welding": 110.0, "stamping": 130.0,
    "sheet_metal": 120.0, "assembly": 80.0, "inspection": 90.0, "casting": 140.0,
    "forging": 150.0, "injection_molding": 130.0,
}
CHAINS = (  # (weight, processes in order, hours range per step)
    (5, ("laser_cutting", "cnc_milling", "heat_treatment", "surface_coating"), (2, 12)),
    (4, ("cnc_turning", "grinding", "heat_treatment", "inspection"), (2, 10)),
    (3, ("stamping", "welding", "surface_coating"), (2, 8)),
    (3, ("sheet_metal", "welding", "surface_coating", "assembly"), (2, 10)),
    (2, ("casting", "cnc_milling", "inspection"), (4, 14)),
    (2, ("injection_molding", "assembly"), (3, 12)),
    (2, ("forging", "cnc_turning", "heat_treatment"), (3, 12)),
    (3, ("cnc_milling",), (2, 16)),
)
METALS = ("steel", "stainless_steel", "aluminium", "brass", "titanium")
PLASTICS = ("ABS", "PA66", "PC")
MATERIAL_FREE = {"heat_treatment", "surface_coating", "assembly", "inspection"}
TIERS = (("basic", 40), ("advanced", 35), ("excellent", 18), ("leading", 7))


def _point(rng: random.Random, km: float) -> tuple[float, float]:
    bearing = rng.uniform(0, 2 * math.pi)
    lat = CENTRE[0] + km * math.cos(bearing) / KM_PER_DEG_LAT
    lon = CENTRE[1] + km * math.sin(bearing) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return round(lat, 5), round(lon, 5)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def generate(*, factories: int, orders: int, seed: int = 0,
             now: datetime | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    now = now or datetime(2026, 12, 1, tzinfo=UTC)
    facs, machines, windows = [], [], []
    processes = sorted(RATES)
    for i in range(factories):
        fid = f"f{i:04d}"
        far = rng.random() < 0.1
        lat, lon = _point(rng, rng.uniform(60, 95) if far else abs(rng.gauss(0, 22)) % 58)
        tier = rng.choices([t for t, _ in TIERS], [w for _, w in TIERS])[0]
        rank = [t for t, _ in TIERS].index(tier)
        certs = [c for c, p in (("ISO9001", 0.55 + 0.1 * rank), ("IATF16949", 0.1 + 0.12 * rank),
                                ("AS9100", 0.02 + 0.03 * rank)) if rng.random() < p]
        facs.append({"id": fid, "firm_id": f"firm-{i:04d}", "sme": rng.random() < 0.7,
                     "tier": tier, "lat": lat, "lon": lon, "certifications": certs})
        for _ in range(rng.randint(2, 5)):
            mid = f"m{len(machines):05d}"
            process = rng.choice(processes)
            if process in MATERIAL_FREE:
                materials: list[str] = []
            elif process == "injection_molding":
                materials = sorted(rng.sample(PLASTICS, rng.randint(1, 3)))
            else:
                materials = sorted(rng.sample(METALS[:4], rng.randint(2, 4))
                                   + (["titanium"] if rng.random() < 0.1 else []))
            rate = RATES[process] * (1 + 0.1 * rank) * rng.uniform(0.85, 1.15)
            machines.append({"id": mid, "factory_id": fid, "process": process,
                             "materials": materials, "hourly_rate": round(rate, 2)})
            for week in range(4):  # most machines offer a window most weeks
                if rng.random() > 0.7:
                    continue
                start = now + timedelta(days=7 * week + rng.randint(0, 3), hours=8)
                end = start + timedelta(days=rng.randint(1, 3),
                                        hours=rng.choice((4, 8, 10, 14)))
                offered = float(rng.choice((8, 12, 16, 20, 24, 32, 40)))
                free = offered if rng.random() < 0.8 else float(rng.randint(0, int(offered)))
                windows.append({"id": f"w{len(windows):06d}", "machine_id": mid,
                                "start": _iso(start), "end": _iso(end), "hours": free,
                                "offered_hours": offered})
    ids = [f["id"] for f in facs]
    return {
        "name": f"generated-{factories}x{orders}-seed{seed}", "now": _iso(now),
        "settings": {"transport_cost_per_km": 2.0, "speed_kmh": 50.0,
                     "unplaced_penalty": 100000.0, "sme_bonus_per_hour": 5.0},
        "factories": facs, "machines": machines, "windows": windows,
        "orders": [_order(rng, j, now, ids) for j in range(orders)],
    }


def _order(rng: random.Random, j: int, now: datetime, factory_ids: list[str]) -> dict[str, Any]:
    oid = f"o{j:05d}"
    _, chain, (lo, hi) = rng.choices(CHAINS, [c[0] for c in CHAINS])[0]
    material = (rng.choice(PLASTICS) if chain[0] == "injection_molding"
                else rng.choices(METALS, (50, 20, 20, 8, 2))[0])
    steps = []
    for k, process in enumerate(chain):
        steps.append({"id": f"{oid}-s{k + 1}", "process": process,
                      "material": None if process in MATERIAL_FREE else material,
                      "hours": float(rng.randint(lo, hi)),
                      "after": [f"{oid}-s{k}"] if k else []})
    lat, lon = _point(rng, abs(rng.gauss(0, 15)) % 50)
    hours = sum(s["hours"] for s in steps)
    budget = None
    if rng.random() < 0.12:
        budget = round(hours * 160 * rng.uniform(0.8, 1.6) + 150 * len(steps), 2)
    blocked = rng.sample(factory_ids, 3) if rng.random() < 0.05 else []
    allowed = rng.sample(factory_ids, min(len(factory_ids), 40)) if rng.random() < 0.03 else []
    return {
        "id": oid, "buyer_id": f"buyer-{rng.randint(1, 200):03d}", "lat": lat, "lon": lon,
        "due": _iso(now + timedelta(days=rng.randint(10, 30))),
        "min_tier": rng.choices(("basic", "advanced", "excellent"), (70, 25, 5))[0],
        "certifications": [c for c, p in (("ISO9001", 0.2), ("IATF16949", 0.08))
                           if rng.random() < p],
        "max_distance_km": rng.choices((60.0, 40.0, 80.0), (80, 10, 10))[0],
        "priority": rng.choices((1, 2, 3, 4, 5), (30, 30, 20, 12, 8))[0],
        "blocked_factories": blocked, "allowed_factories": allowed,
        "max_factories": rng.choice((1, 2, 3)) if rng.random() < 0.15 else None,
        "budget": budget, "steps": steps,
    }
