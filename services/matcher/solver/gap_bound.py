"""Lower bound and reduced costs for the GAP by Lagrangian relaxation of the capacities.

Relaxing ``sum_j r_ij x_ij <= b_i`` with multipliers u_i >= 0 leaves, for every job, the choice of
the agent minimising ``c_ij + u_i r_ij``:

    L(u) = sum_j min_i (c_ij + u_i r_ij) - sum_i u_i b_i   <=   optimum.

The best L(u) equals the LP relaxation's value, found here by subgradient steps in numpy (no LP
solver: GLOP needs ~10 s on the 80 x 1600 instances, a few hundred steps here need well under
one). ``rc_ij = c_ij + u_i r_ij - min_k (c_kj + u_k r_kj)`` are the matching reduced costs: every
assignment costs at least ``L(u) + sum_j rc_{a(j), j}``, so a pair with ``L(u) + rc_ij >= UB``
cannot be part of an assignment cheaper than UB (reduced-cost fixing).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from services.matcher.solver.gap_data import GapInstance


@dataclass(frozen=True)
class LagrangianBound:
    value: float                 # best L(u) found (a valid lower bound)
    multipliers: np.ndarray      # (m,) the u giving it
    reduced_cost: np.ndarray     # (m, n) rc_ij at those multipliers

    @property
    def bound(self) -> int:
        """Costs are integers, so the bound rounds up (with a little slack for float error)."""
        return math.ceil(self.value - 1e-6)

    def adjusted_cost(self, instance: GapInstance) -> np.ndarray:
        return instance.cost + self.multipliers[:, None] * instance.resource


def evaluate(instance: GapInstance, u: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """L(u), the relaxed choice of agent per job and the subgradient (load - capacity)."""
    adjusted = instance.cost + u[:, None] * instance.resource
    choice = adjusted.argmin(axis=0)
    jobs = np.arange(instance.n)
    value = float(adjusted[choice, jobs].sum() - u @ instance.capacity)
    load = np.bincount(choice, weights=instance.resource[choice, jobs], minlength=instance.m)
    return value, choice, load - instance.capacity


def lagrangian_bound(
    instance: GapInstance,
    *,
    upper: float | None = None,
    max_iterations: int = 3000,
    time_limit: float = 2.0,
) -> LagrangianBound:
    """Subgradient ascent with Polyak steps towards ``upper`` (an estimate when None).

    The step factor halves after 20 steps without improvement; stops when it is tiny, after
    ``max_iterations`` or after ``time_limit`` seconds (the iteration cap keeps runs reproducible
    on a fast machine).
    """
    start = time.monotonic()
    u = np.zeros(instance.m)
    best_value, best_u = -math.inf, u
    # Without an incumbent, aim a little above the trivial bound (no capacities).
    target = upper if upper is not None else float(instance.cost.min(axis=0).sum()) * 1.02
    factor, stale = 2.0, 0
    for _ in range(max_iterations):
        value, _, gradient = evaluate(instance, u)
        if value > best_value + 1e-9:
            best_value, best_u, stale = value, u.copy(), 0
        else:
            stale += 1
            if stale >= 20:
                factor, stale = factor / 2, 0
        if upper is None and value >= target:
            target = value * 1.005
        # Multipliers at zero with slack capacity cannot move down: drop those components.
        gradient = np.where((u <= 0) & (gradient < 0), 0.0, gradient)
        norm = float(gradient @ gradient)
        if norm == 0 or factor < 1e-4 or time.monotonic() - start > time_limit:
            break
        u = np.maximum(0.0, u + factor * (target - value) / norm * gradient)
    adjusted = instance.cost + best_u[:, None] * instance.resource
    reduced = adjusted - adjusted.min(axis=0)
    return LagrangianBound(value=best_value, multipliers=best_u, reduced_cost=reduced)
