"""What a buyer asks for (the order terms) and the rules a new order must satisfy.

Every rule answers FieldErrors with dotted paths into the terms (``steps.2.after``), so the API
can name each bad field at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from services.orders.domain.errors import FieldError
from shared.vocabulary import PROCESSES, TIERS

MAX_STEPS = 50
MAX_DISTANCE_KM = 500.0
MAX_FACTORY_IDS = 200  # per allowed_factories / blocked_factories list


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True)
class StepSpec:
    key: str
    process: str
    quantity: int
    hours: float
    material: str | None = None
    after: tuple[str, ...] = ()  # keys of the steps that must finish first


@dataclass(frozen=True)
class OrderTerms:
    cluster_id: str
    title: str
    delivery: Location
    due: datetime
    steps: tuple[StepSpec, ...]
    min_tier: str = "basic"
    certifications: tuple[str, ...] = ()
    max_distance_km: float = 60.0
    priority: int = 3
    budget: float | None = None
    allowed_factories: tuple[str, ...] = ()
    blocked_factories: tuple[str, ...] = ()
    max_factories: int | None = None


def validate_terms(
    terms: OrderTerms, *, now: datetime, cluster_known: bool, buyer_clusters: Collection[str]
) -> list[FieldError]:
    """Every rule the terms break (empty when the order may be submitted).

    The cluster must be one the platform knows and one the buyer belongs to.
    """
    errors = []
    if not cluster_known:
        errors.append(FieldError("cluster_id", f"unknown cluster {terms.cluster_id!r}"))
    elif terms.cluster_id not in buyer_clusters:
        errors.append(FieldError("cluster_id", f"you may not order in {terms.cluster_id!r}"))
    return [*errors, *_order_errors(terms, now), *_step_errors(terms.steps),
            *dag_errors(terms.steps)]


def _order_errors(t: OrderTerms, now: datetime) -> list[FieldError]:
    errors = []
    if t.due <= now:
        errors.append(FieldError("due", "must be in the future"))
    if not -90.0 <= t.delivery.lat <= 90.0:
        errors.append(FieldError("delivery.lat", "must be between -90 and 90"))
    if not -180.0 <= t.delivery.lon <= 180.0:
        errors.append(FieldError("delivery.lon", "must be between -180 and 180"))
    if not 0.0 < t.max_distance_km <= MAX_DISTANCE_KM:
        errors.append(FieldError("max_distance_km", f"must be > 0 and <= {MAX_DISTANCE_KM:g}"))
    if t.min_tier not in TIERS:
        errors.append(FieldError("min_tier", f"must be one of {', '.join(TIERS)}"))
    if not 1 <= t.priority <= 5:
        errors.append(FieldError("priority", "must be between 1 and 5"))
    if t.budget is not None and t.budget <= 0:
        errors.append(FieldError("budget", "must be greater than 0"))
    if t.max_factories is not None and t.max_factories < 1:
        errors.append(FieldError("max_factories", "must be at least 1"))
    for name in ("allowed_factories", "blocked_factories"):
        if len(getattr(t, name)) > MAX_FACTORY_IDS:
            errors.append(FieldError(name, f"must hold at most {MAX_FACTORY_IDS} factory ids"))
    if both := sorted(set(t.allowed_factories) & set(t.blocked_factories)):
        errors.append(FieldError("blocked_factories", f"also allowed: {', '.join(both)}"))
    if not 1 <= len(t.steps) <= MAX_STEPS:
        errors.append(FieldError("steps", f"must hold 1 to {MAX_STEPS} steps"))
    return errors


def _step_errors(steps: tuple[StepSpec, ...]) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    for i, step in enumerate(steps):
        if step.key in seen:
            errors.append(FieldError(f"steps.{i}.key", f"duplicate step key {step.key!r}"))
        seen.add(step.key)
        if step.process not in PROCESSES:
            errors.append(FieldError(f"steps.{i}.process", f"unknown process {step.process!r}"))
        if not step.hours > 0:
            errors.append(FieldError(f"steps.{i}.hours", "must be greater than 0"))
        if step.quantity < 1:
            errors.append(FieldError(f"steps.{i}.quantity", "must be at least 1"))
    keys = {s.key for s in steps}
    for i, step in enumerate(steps):
        if unknown := [k for k in step.after if k not in keys]:
            errors.append(FieldError(f"steps.{i}.after", f"unknown step keys {unknown}"))
    return errors


def dag_errors(steps: tuple[StepSpec, ...]) -> list[FieldError]:
    """One error per step that lies on a precedence cycle (``after`` must form a DAG)."""
    index: dict[str, int] = {}
    for i, step in enumerate(steps):
        index.setdefault(step.key, i)  # a duplicate key is reported by the step rules
    graph = {
        i: sorted({index[k] for k in steps[i].after if k in index}) for i in index.values()
    }
    errors: dict[int, FieldError] = {}
    for cycle in find_cycles(graph):
        path = " -> ".join(steps[i].key for i in [*cycle, cycle[0]])
        message = f"steps wait on each other: {path}"
        for i in cycle:
            errors.setdefault(i, FieldError(f"steps.{i}.after", message))
    return [errors[i] for i in sorted(errors)]


def find_cycles(graph: dict[int, list[int]]) -> list[list[int]]:
    """The cycles a depth-first search meets: one per back edge, as lists of nodes."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    cycles: list[list[int]] = []
    for root in graph:
        if colour[root] != white:
            continue
        colour[root] = grey
        stack: list[tuple[int, int]] = [(root, 0)]  # (node, index of its next edge)
        while stack:
            node, edge = stack[-1]
            if edge == len(graph[node]):
                colour[node] = black
                stack.pop()
                continue
            stack[-1] = (node, edge + 1)
            nxt = graph[node][edge]
            if colour[nxt] == white:
                colour[nxt] = grey
                stack.append((nxt, 0))
            elif colour[nxt] == grey:
                path = [n for n, _ in stack]
                cycles.append(path[path.index(nxt):])
    return cycles

