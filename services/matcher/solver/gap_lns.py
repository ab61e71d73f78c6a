"""Large neighbourhood search for the GAP: free some jobs of a few related agents, re-solve.

Each step picks agents: a random one, then agents that are cheap alternatives (small Lagrangian
reduced cost) for the jobs already in, so the neighbourhood holds exchanges that can pay off.
Up to ``free`` jobs on those agents may move among them; everything else stays (fixed jobs keep
their share of capacity). The sub-problem is a small GAP solved by CP-SAT (textbook model,
hinted with the current assignment, one worker, 0.1 s: small D/E sub-problems are hard to
prove, so many short steps beat few long ones). ``free`` grows while sub-problems are solved to
optimality and shrinks when they time out. One neighbourhood per thread, on disjoint agents.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from services.matcher.solver.gap_data import GapInstance, cost_of
from services.matcher.solver.gap_model import all_pairs, solve_pairs

logger = logging.getLogger(__name__)

STEP_LIMIT_S = 0.1  # per sub-problem; one CP-SAT worker each (parallel sub-problems instead)
LINEARIZATION = 2
START_FREE, MIN_FREE = 40, 8  # free jobs per neighbourhood: grows on optimal solves, else shrinks


@dataclass
class LnsStats:
    steps: int = 0
    improvements: int = 0
    optimal_steps: int = 0
    proven_optimal: bool = False   # a neighbourhood held every agent and was solved to optimality
    adopted: int = 0               # times the search moved to a cheaper assignment from outside


@dataclass(frozen=True)
class Neighbourhood:
    agents: np.ndarray   # sorted agent ids
    jobs: np.ndarray     # the free jobs, all currently on those agents


def choose_neighbourhood(rng: np.random.Generator, agent: np.ndarray, reduced_cost: np.ndarray,
                         *, free: int, taken: set[int]) -> Neighbourhood | None:
    """Agents related to a random one (cheap alternatives, in reduced cost, for the jobs already
    in), added until they hold ``free`` jobs; then ``free`` of their jobs, chosen at random."""
    m = reduced_cost.shape[0]
    open_agents = np.setdiff1d(np.arange(m), list(taken))
    if open_agents.size == 0:
        return None
    chosen = [int(rng.choice(open_agents))]
    closeness = np.zeros(m)
    on_chosen = np.flatnonzero(agent == chosen[0])
    while (on_chosen.size < free or len(chosen) < 2) and len(chosen) + len(taken) < m:
        jobs = np.flatnonzero(agent == chosen[-1])
        if jobs.size:
            closeness += (1.0 / (1.0 + reduced_cost[:, jobs])).sum(axis=1)
        score = closeness * rng.uniform(0.7, 1.3, size=m) + 1e-9
        score[chosen + list(taken)] = -np.inf
        chosen.append(int(score.argmax()))
        on_chosen = np.flatnonzero(np.isin(agent, chosen))
    if len(chosen) < 2 and m > 1:
        return None
    if on_chosen.size > free:
        on_chosen = np.sort(rng.choice(on_chosen, size=free, replace=False))
    return Neighbourhood(agents=np.asarray(sorted(chosen)), jobs=on_chosen)


def sub_instance(instance: GapInstance, agent: np.ndarray, hood: Neighbourhood) -> GapInstance:
    """The free jobs on the neighbourhood's agents, with what the fixed jobs leave of them."""
    grid = np.ix_(hood.agents, hood.jobs)
    fixed = np.isin(agent, hood.agents)
    fixed[hood.jobs] = False
    used = loads(instance, np.where(fixed, agent, -1))[hood.agents]
    return GapInstance(name=f"{instance.name}[lns]", cost=instance.cost[grid],
                       resource=instance.resource[grid],
                       capacity=instance.capacity[hood.agents] - used)


def loads(instance: GapInstance, agent: np.ndarray) -> np.ndarray:
    """Load per agent; jobs with agent -1 are left out."""
    jobs = np.flatnonzero(agent >= 0)
    return np.bincount(agent[jobs], weights=instance.resource[agent[jobs], jobs],
                       minlength=instance.m).astype(np.int64)


def lns(
    instance: GapInstance,
    agent: np.ndarray,
    *,
    reduced_cost: np.ndarray,
    deadline: float,
    threads: int = 1,
    seed: int = 0,
    max_steps: int | None = None,
    lower_bound: int | None = None,
    stop: Callable[[], bool] | None = None,
    outside: Callable[[], tuple[int, np.ndarray] | None] | None = None,
) -> tuple[np.ndarray, LnsStats]:
    """Improve a feasible ``agent`` assignment until ``deadline`` (monotonic seconds).

    With ``threads`` > 1, that many neighbourhoods on disjoint agents are solved at once (CP-SAT
    releases the GIL), and every improvement is applied: they cannot interfere. ``stop`` ends
    the search early when it returns true. ``outside`` returns the best (cost, assignment) found
    elsewhere so far (HiGHS beside the LNS); before each batch the search moves to it when it is
    cheaper than its own.
    """
    rng = np.random.default_rng(seed)
    agent = agent.copy()
    current = cost_of(instance, agent)
    stats = LnsStats()
    free = START_FREE
    with ThreadPoolExecutor(max_workers=threads) as pool:
        while time.monotonic() < deadline - 0.05 and not stats.proven_optimal:
            if max_steps is not None and stats.steps >= max_steps:
                break
            if lower_bound is not None and current <= lower_bound:
                break
            if stop is not None and stop():  # another solver proved optimality
                break
            found = outside() if outside is not None else None
            if found is not None and found[0] < current:
                current, agent = found[0], found[1].copy()
                stats.adopted += 1
            hoods = _batch(rng, agent, reduced_cost, free=int(free), size=threads)
            # Deterministic mode (max_steps) bounds work, not seconds, for every sub-problem.
            limit = (10 * STEP_LIMIT_S if max_steps is not None
                     else min(STEP_LIMIT_S, deadline - time.monotonic()))
            subs = [sub_instance(instance, agent, hood) for hood in hoods]
            hints = [np.searchsorted(hood.agents, agent[hood.jobs]) for hood in hoods]
            futures = [pool.submit(
                solve_pairs, sub, all_pairs(sub), time_limit=limit, threads=1,
                seed=seed + stats.steps + k, hint=hint, linearization_level=LINEARIZATION,
                deterministic_limit=STEP_LIMIT_S if max_steps is not None else None)
                for k, (sub, hint) in enumerate(zip(subs, hints, strict=True))]
            for hood, sub, hint, future in zip(hoods, subs, hints, futures, strict=True):
                result = future.result()
                stats.steps += 1
                if result.status == "optimal":
                    stats.optimal_steps += 1
                    stats.proven_optimal = (hood.agents.size == instance.m
                                            and hood.jobs.size == instance.n)
                    free = min(free * 1.15, instance.n)
                else:
                    free = max(free * 0.9, MIN_FREE)
                if result.assignment is not None:
                    gain = int(sub.cost[hint, np.arange(hood.jobs.size)].sum()) - result.objective
                    if gain > 0:
                        agent[hood.jobs] = hood.agents[result.assignment]
                        current -= gain
                        stats.improvements += 1
    logger.debug("lns %s: %s steps, %s improvements, final free jobs %s", instance.name,
                 stats.steps, stats.improvements, int(free))
    return agent, stats


def _batch(rng: np.random.Generator, agent: np.ndarray, reduced_cost: np.ndarray, *,
           free: int, size: int) -> list[Neighbourhood]:
    hoods: list[Neighbourhood] = []
    taken: set[int] = set()
    while len(hoods) < size:
        hood = choose_neighbourhood(rng, agent, reduced_cost, free=free, taken=taken)
        if hood is None:
            break
        hoods.append(hood)
        taken.update(hood.agents.tolist())
    if not hoods and reduced_cost.shape[0] == 1:  # a single agent: the whole instance
        hoods.append(Neighbourhood(agents=np.arange(reduced_cost.shape[0]),
                                   jobs=np.arange(agent.size)))
    return hoods
