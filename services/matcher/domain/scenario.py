"""The scenario format of DESIGN §4 (JSON-ready dicts) ↔ ``Instance``.

Match runs store their input this way, so a run can be replayed. Beyond DESIGN's fields a
window may carry ``offered_hours`` and a step ``pinned_window`` and ``excluded_windows``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.matcher.domain.model import (
    Factory,
    Instance,
    Machine,
    Order,
    Parameters,
    Step,
    Window,
)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dt(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_scenario(instance: Instance) -> dict[str, Any]:
    p = instance.params
    return {
        "name": instance.name,
        "now": _iso(instance.now) if instance.now else None,
        "settings": {"transport_cost_per_km": p.transport_cost_per_km, "speed_kmh": p.speed_kmh,
                     "unplaced_penalty": p.unplaced_penalty,
                     "sme_bonus_per_hour": p.sme_bonus_per_hour},
        "factories": [{"id": f.id, "firm_id": f.firm_id, "sme": f.sme, "tier": f.tier,
                       "lat": f.lat, "lon": f.lon, "certifications": sorted(f.certifications)}
                      for f in instance.factories],
        "machines": [{"id": m.id, "factory_id": m.factory_id, "process": m.process,
                      "materials": sorted(m.materials), "hourly_rate": m.hourly_rate}
                     for m in instance.machines],
        "windows": [{"id": w.id, "machine_id": w.machine_id, "start": _iso(w.start),
                     "end": _iso(w.end), "hours": w.hours, "offered_hours": w.offered}
                    for w in instance.windows],
        "orders": [_order_dict(o) for o in instance.orders],
    }


def _order_dict(o: Order) -> dict[str, Any]:
    return {
        "id": o.id, "buyer_id": o.buyer_id, "lat": o.lat, "lon": o.lon, "due": _iso(o.due),
        "min_tier": o.min_tier, "certifications": sorted(o.certifications),
        "max_distance_km": o.max_distance_km, "priority": o.priority,
        "blocked_factories": sorted(o.blocked_factories),
        "allowed_factories": sorted(o.allowed_factories),
        "max_factories": o.max_factories, "budget": o.budget,
        "steps": [{"id": s.id, "process": s.process, "material": s.material, "hours": s.hours,
                   "after": list(s.after), "pinned_window": s.pinned_window,
                   "excluded_windows": sorted(s.excluded_windows)} for s in o.steps],
    }


def from_scenario(data: dict[str, Any]) -> Instance:
    s = data.get("settings") or {}
    params = Parameters(**{k: float(v) for k, v in s.items()
                           if k in Parameters.__dataclass_fields__})
    return Instance(
        name=data.get("name", ""),
        now=_dt(data["now"]) if data.get("now") else None,
        params=params,
        factories=tuple(Factory(id=f["id"], firm_id=f.get("firm_id", ""), sme=f.get("sme", False),
                                tier=f.get("tier") or "basic", lat=f["lat"], lon=f["lon"],
                                certifications=frozenset(f.get("certifications", ())))
                        for f in data.get("factories", ())),
        machines=tuple(Machine(id=m["id"], factory_id=m["factory_id"], process=m["process"],
                               materials=frozenset(m.get("materials", ())),
                               hourly_rate=m["hourly_rate"])
                       for m in data.get("machines", ())),
        windows=tuple(Window(id=w["id"], machine_id=w["machine_id"], start=_dt(w["start"]),
                             end=_dt(w["end"]), hours=w["hours"],
                             offered_hours=w.get("offered_hours"))
                      for w in data.get("windows", ())),
        orders=tuple(_order(o) for o in data.get("orders", ())),
    )


def _order(o: dict[str, Any]) -> Order:
    steps = tuple(
        Step(id=s["id"], process=s["process"], material=s.get("material"), hours=s["hours"],
             after=tuple(s.get("after", ())), pinned_window=s.get("pinned_window"),
             excluded_windows=frozenset(s.get("excluded_windows", ())))
        for s in o["steps"]
    )
    return Order(
        id=o["id"], buyer_id=o.get("buyer_id", ""), lat=o["lat"], lon=o["lon"], due=_dt(o["due"]),
        min_tier=o.get("min_tier") or "basic",
        certifications=frozenset(o.get("certifications", ())),
        max_distance_km=o.get("max_distance_km", 60.0), priority=o.get("priority", 1),
        blocked_factories=frozenset(o.get("blocked_factories", ())),
        allowed_factories=frozenset(o.get("allowed_factories", ())),
        max_factories=o.get("max_factories"), budget=o.get("budget"), steps=steps,
    )
