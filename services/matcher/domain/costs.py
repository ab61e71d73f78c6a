"""Distances, transit times and prices (DESIGN §4)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from services.matcher.domain.model import (
    Allocation,
    Candidate,
    Instance,
    Order,
    Parameters,
    Step,
    Unplaced,
)

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def delivery_km(candidate: Candidate, order: Order) -> float:
    f = candidate.factory
    return haversine_km(f.lat, f.lon, order.lat, order.lon)


def transit_hours(a: Candidate, b: Candidate, params: Parameters) -> float:
    """Hours to move work from a's factory to b's (0 within one factory)."""
    if a.factory.id == b.factory.id:
        return 0.0
    fa, fb = a.factory, b.factory
    return haversine_km(fa.lat, fa.lon, fb.lat, fb.lon) / params.speed_kmh


def price(step: Step, candidate: Candidate, order: Order, params: Parameters) -> float:
    """What the buyer pays for ``step`` on ``candidate``: machine hours plus transport."""
    transport = params.transport_cost_per_km * delivery_km(candidate, order)
    return step.hours * candidate.machine.hourly_rate + transport


def objective_term(step: Step, candidate: Candidate, order: Order, params: Parameters) -> float:
    """The step's share of the objective: its price less the SME bonus."""
    bonus = params.sme_bonus_per_hour * step.hours if candidate.factory.sme else 0.0
    return price(step, candidate, order, params) - bonus


def precedence_ok(
    *, before: Candidate, after: Candidate, after_hours: float, params: Parameters
) -> bool:
    """``wa.end + transit_h(fa, fb) + b.hours ≤ wb.end`` (with a little tolerance)."""
    slack = (after.window.end - before.window.end).total_seconds() / 3600.0
    return transit_hours(before, after, params) + after_hours <= slack + 1e-6


def order_price(instance: Instance, order: Order, placement: Mapping[str, str]) -> float:
    """Σ price over the order's steps that ``placement`` puts somewhere (pinned ones included)."""
    cands = instance.candidates
    return sum(price(s, cands[placement[s.id]], order, instance.params)
               for s in order.steps if placement.get(s.id) in cands)


def objective(instance: Instance, allocations: Iterable[Allocation],
              unplaced: Iterable[Unplaced]) -> float:
    """DESIGN §4's objective over what a plan placed and left unplaced (pinned steps excluded)."""
    cands, orders, p = instance.candidates, instance.orders_by_id, instance.params
    total = 0.0
    for a in allocations:
        order = orders[a.order_id]
        step = next(s for s in order.steps if s.id == a.step_id)
        total += objective_term(step, cands[a.window_id], order, p)
    for u in unplaced:
        total += p.unplaced_penalty * orders[u.order_id].priority
    return total
