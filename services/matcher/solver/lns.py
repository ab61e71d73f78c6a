"""Large neighbourhood search around an incumbent, for components too big for one model in
their share of the time (``solve.lns_neighbourhoods``).

A neighbourhood is a few dozen orders that compete for the same windows: an anchor order
(an unplaced one of high priority more often than not), the orders placed on its candidate
windows, and further unplaced orders wanting those windows, up to a number of pairs. Its
model (``model.py``) sees the windows' free hours minus the hours of every order outside the
neighbourhood, and the incumbent as its hint; a better solution replaces the incumbent's part.

Two sizes (``Neighbourhoods``). ``WIDE`` (6,000 pairs, 0.5 s, every thread) serves components
too big for one model at all. ``NARROW`` (1,000 pairs, 0.05 s, one worker) serves components
one model could hold, but not in the time they have: on 14 batches the matcher planned under
make bench (8,000-pair components, 0.5 s on one thread), narrow neighbourhoods gave 246.7 M CNY
in all where wide ones gave 253.3 M; a second worker per narrow neighbourhood did worse (two
threads, 2 s: 242.8 M against 238.0 M). Narrow ones were not better everywhere: on generated
150-factory × 300-order clusters (39,000 pairs, 10 s) they gave 29.2 M and 29.5 M where wide
ones gave 27.4 M and 20.1 M, so components that big keep the wide ones.

The search stops once the incumbent is within ``gap_limit`` of the component's lower bound
(``target``, from ``bound.py``), as one model's search does (CP-SAT's ``relative_gap_limit``).
Once a cluster's windows are full, the greedy's plan of a batch is often at its bound already,
and the neighbourhoods spent the whole budget finding nothing: on the 63 such runs of a
100 orders/s benchmark, re-solved, the same plans took 7.9 s instead of 25.1 s.

The random choices come from ``random.Random(seed)``; in deterministic mode every sub-model
gets a deterministic time budget and the loop stops on the sum of CP-SAT's deterministic time,
so a run is repeatable.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from services.matcher.domain.costs import objective_term
from services.matcher.domain.model import Instance, Order
from services.matcher.solver.index import EligibilityIndex, StepEligibility
from services.matcher.solver.model import ModelData, ScenarioModel, add_hints, build_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Neighbourhoods:
    max_pairs: int  # pairs in one neighbourhood's model
    time_s: float  # time limit of one neighbourhood's solve
    workers: int | None  # CP-SAT workers per neighbourhood; None: the run's threads


WIDE = Neighbourhoods(max_pairs=6000, time_s=0.5, workers=None)
NARROW = Neighbourhoods(max_pairs=1000, time_s=0.05, workers=1)
HALF_CENT = 0.005  # CNY: the model counts whole cents, and the tracked value drifts by less


@dataclass
class LnsStats:
    rounds: int = 0
    improved: int = 0
    deterministic_time: float = 0.0
    within_gap: bool = False  # stopped because the incumbent reached the gap limit


def improve(instance: Instance, index: EligibilityIndex, orders: list[Order],
            eligible: dict[str, StepEligibility], placement: dict[str, str], *,
            budget_s: float, threads: int, seed: int, deterministic: bool,
            presolve: bool = False, hoods: Neighbourhoods = WIDE,
            target: float | None = None, gap_limit: float = 0.0
            ) -> tuple[dict[str, str], LnsStats]:
    """A better ``placement`` (step id → window id) of ``orders`` within ``budget_s``, or
    sooner once its objective is within ``gap_limit`` (relative) of ``target``, a lower
    bound in CNY."""
    rng = random.Random(seed)
    placement = dict(placement)
    value = placement_value(instance, orders, placement)  # CNY, kept up to date
    used = np.zeros(len(index.window_ids), dtype=float)
    steps = {s.id: s for o in orders for s in o.free_steps}
    for sid, wid in placement.items():
        if sid in steps:
            used[index.position[wid]] += steps[sid].hours
    wanted: dict[int, list[int]] = {}  # window → orders that may use it
    for i, o in enumerate(orders):
        for w in {w for s in o.free_steps for w in eligible[s.id].windows.tolist()}:
            wanted.setdefault(w, []).append(i)
    stats, clock = LnsStats(), time.perf_counter()
    while True:
        if target is not None and value - target <= gap_limit * max(1.0, abs(value)) + HALF_CENT:
            stats.within_gap = True
            break
        spent = stats.deterministic_time if deterministic else time.perf_counter() - clock
        if spent >= budget_s:
            break
        stats.rounds += 1
        hood = _neighbourhood(rng, orders, eligible, placement, wanted,
                              max_pairs=hoods.max_pairs)
        hood_steps = [s for o in hood for s in o.free_steps]
        mine = np.zeros_like(used)
        for s in hood_steps:
            if s.id in placement:
                mine[index.position[placement[s.id]]] += s.hours
        free = index.free - (used - mine)
        sm = build_model(ModelData.build(instance, index, hood, eligible, free=free))
        current = {s.id: placement[s.id] for s in hood_steps if s.id in placement}
        add_hints(sm, current)
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers, p.random_seed = hoods.workers or max(1, threads), seed + stats.rounds
        p.cp_model_presolve = presolve  # see SolverOptions.presolve
        # no LP in the search: with it, one worker found nothing better than the hint in 0.5 s
        # on a neighbourhood of thousands of pairs, and two did worse over 10 s (the
        # sub-model's bound is not needed: the component's comes from bound.py)
        p.linearization_level = 0
        limit = min(hoods.time_s, max(0.01, budget_s - spent))
        if deterministic:
            p.interleave_search, p.max_deterministic_time = True, limit
        else:
            p.max_time_in_seconds = limit
        status = solver.solve(sm.model)
        stats.deterministic_time += solver.deterministic_time
        whole = len(hood) == len(orders) and status == cp_model.OPTIMAL
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        if solver.objective_value + 0.5 >= plan_value(sm, current):
            if whole:
                break  # the whole component was solved: nothing left to improve
            continue
        stats.improved += 1
        value -= placement_value(instance, hood, placement)
        ids = index.window_ids
        for s in hood_steps:
            placement.pop(s.id, None)
        placement.update({sid: ids[w] for (sid, w), v in sm.x.items()
                          if solver.boolean_value(v)})
        value += placement_value(instance, hood, placement)
        used = used - mine
        for s in hood_steps:
            if s.id in placement:
                used[index.position[placement[s.id]]] += s.hours
        if whole:
            break
    logger.info("LNS: %d rounds, %d improvements", stats.rounds, stats.improved)
    return placement, stats


def placement_value(instance: Instance, orders: list[Order], placement: dict[str, str]
                    ) -> float:
    """The objective (CNY) of ``placement`` on ``orders``: the terms of the orders it places
    whole, the penalty of the others."""
    total = 0.0
    for o in orders:
        if all(s.id in placement for s in o.free_steps):
            total += sum(objective_term(s, instance.candidates[placement[s.id]], o,
                                        instance.params) for s in o.free_steps)
        else:
            total += instance.params.unplaced_penalty * o.priority * len(o.free_steps)
    return total


def plan_value(sm: ScenarioModel, placement: dict[str, str]) -> float:
    """The model's objective (cents) of ``placement``; infinite if the model cannot take it."""
    ix, total = sm.data.index, 0.0
    for o in sm.data.orders:
        if all(s.id in placement for s in o.free_steps):
            for s in o.free_steps:
                w = ix.position[placement[s.id]]
                cost = next((p.cost for p in sm.data.pairs[s.id] if p.window == w), None)
                if cost is None:
                    return float("inf")
                total += cost
        else:
            total += sm.data.penalty(o)
    return total


def _neighbourhood(rng: random.Random, orders: list[Order],
                   eligible: dict[str, StepEligibility], placement: dict[str, str],
                   wanted: dict[int, list[int]], *, max_pairs: int) -> list[Order]:
    unplaced = [i for i, o in enumerate(orders)
                if not all(s.id in placement for s in o.free_steps)]
    if unplaced and rng.random() < 0.7:
        weights = [orders[i].priority for i in unplaced]
        anchor = rng.choices(unplaced, weights)[0]
    else:
        anchor = rng.randrange(len(orders))
    chosen, pairs = [anchor], 0
    seen = {anchor}
    frontier = [anchor]
    while frontier and pairs < max_pairs:
        i = frontier.pop(0)
        windows = sorted({w for s in orders[i].free_steps
                          for w in eligible[s.id].windows.tolist()})
        rng.shuffle(windows)
        for w in windows[:12]:
            for j in wanted.get(w, ()):
                if j in seen:
                    continue
                size = sum(len(eligible[s.id].windows) for s in orders[j].free_steps)
                if pairs + size > max_pairs:
                    continue
                seen.add(j)
                chosen.append(j)
                frontier.append(j)
                pairs += size
    return [orders[i] for i in sorted(chosen)]
