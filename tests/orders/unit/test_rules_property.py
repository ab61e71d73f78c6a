"""Property tests of the order validators: for generated terms, the errors the rules report are
exactly those an independent, plainly written oracle expects."""

from __future__ import annotations

import graphlib
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.orders.domain.rules import (
    MAX_DISTANCE_KM,
    Location,
    OrderTerms,
    StepSpec,
    dag_errors,
    validate_terms,
)
from shared.vocabulary import PROCESSES, TIERS

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KEYS = [f"s{i}" for i in range(8)]


@st.composite
def step_graphs(draw: st.DrawFn) -> tuple[StepSpec, ...]:
    """1–8 steps with arbitrary `after` edges among them (cycles and self-loops included)."""
    n = draw(st.integers(1, 8))
    keys = KEYS[:n]
    return tuple(StepSpec(key=k, process="cnc_milling", quantity=1, hours=1.0,
                          after=tuple(draw(st.lists(st.sampled_from(keys), max_size=3,
                                                    unique=True))))
                 for k in keys)


def _acyclic(steps: tuple[StepSpec, ...]) -> bool:
    try:
        graphlib.TopologicalSorter({s.key: set(s.after) for s in steps}).prepare()
    except graphlib.CycleError:
        return False
    return True


def _on_a_cycle(steps: tuple[StepSpec, ...], key: str) -> bool:
    after = {s.key: s.after for s in steps}
    seen, todo = set(), list(after[key])
    while todo:
        k = todo.pop()
        if k == key:
            return True
        if k not in seen:
            seen.add(k)
            todo.extend(after[k])
    return False


@settings(max_examples=300)
@given(step_graphs())
def test_precedence_errors_exactly_when_steps_wait_on_each_other(steps):  # type: ignore[no-untyped-def]
    errors = dag_errors(steps)
    assert (errors == []) == _acyclic(steps)
    for error in errors:  # each reported step really lies on a cycle
        index = int(error.field.split(".")[1])
        assert error.field == f"steps.{index}.after"
        assert _on_a_cycle(steps, steps[index].key)


@settings(max_examples=200)
@given(st.integers(1, 8))
def test_a_chain_in_any_order_is_a_valid_dag(n):  # type: ignore[no-untyped-def]
    steps = tuple(StepSpec(key=KEYS[i], process="welding", quantity=1, hours=1.0,
                           after=(KEYS[i - 1],) if i else ()) for i in reversed(range(n)))
    assert dag_errors(steps) == []


terms_fields = st.fixed_dictionaries({
    "lat": st.floats(-100, 100, allow_nan=False),
    "lon": st.floats(-200, 200, allow_nan=False),
    "due_h": st.integers(-48, 48),
    "max_distance_km": st.floats(-10, MAX_DISTANCE_KM + 10, allow_nan=False),
    "min_tier": st.sampled_from([*TIERS, "platinum", ""]),
    "priority": st.integers(-1, 7),
    "budget": st.none() | st.floats(-5, 5, allow_nan=False),
    "max_factories": st.none() | st.integers(-1, 3),
    "allowed": st.lists(st.sampled_from("abc"), max_size=3, unique=True),
    "blocked": st.lists(st.sampled_from("cde"), max_size=3, unique=True),
    "process": st.sampled_from([*sorted(PROCESSES)[:3], "knitting"]),
    "hours": st.floats(-1, 5, allow_nan=False),
    "quantity": st.integers(-1, 3),
})


@settings(max_examples=400)
@given(terms_fields)
def test_order_rules_report_exactly_the_broken_fields(f):  # type: ignore[no-untyped-def]
    terms = OrderTerms(
        cluster_id="qhd-auto", title="t", delivery=Location(f["lat"], f["lon"]),
        due=NOW + timedelta(hours=f["due_h"]), min_tier=f["min_tier"],
        max_distance_km=f["max_distance_km"], priority=f["priority"], budget=f["budget"],
        max_factories=f["max_factories"], allowed_factories=tuple(f["allowed"]),
        blocked_factories=tuple(f["blocked"]),
        steps=(StepSpec(key="a", process=f["process"], quantity=f["quantity"],
                        hours=f["hours"]),))
    expected = {field for field, broken in {
        "due": f["due_h"] <= 0,
        "delivery.lat": not -90 <= f["lat"] <= 90,
        "delivery.lon": not -180 <= f["lon"] <= 180,
        "max_distance_km": not 0 < f["max_distance_km"] <= MAX_DISTANCE_KM,
        "min_tier": f["min_tier"] not in TIERS,
        "priority": not 1 <= f["priority"] <= 5,
        "budget": f["budget"] is not None and f["budget"] <= 0,
        "max_factories": f["max_factories"] is not None and f["max_factories"] < 1,
        "blocked_factories": "c" in f["allowed"] and "c" in f["blocked"],
        "steps.0.process": f["process"] not in PROCESSES,
        "steps.0.hours": f["hours"] <= 0,
        "steps.0.quantity": f["quantity"] < 1,
    }.items() if broken}
    errors = validate_terms(terms, now=NOW, cluster_known=True, buyer_clusters={"qhd-auto"})
    assert {e.field for e in errors} == expected


@given(st.text(max_size=20), st.booleans(), st.lists(st.text(max_size=10), max_size=3))
def test_the_cluster_must_be_known_and_the_buyers(cluster, known, mine):  # type: ignore[no-untyped-def]
    terms = OrderTerms(cluster_id=cluster, title="t", delivery=Location(0, 0),
                       due=NOW + timedelta(days=1),
                       steps=(StepSpec(key="a", process="welding", quantity=1, hours=1.0),))
    errors = validate_terms(terms, now=NOW, cluster_known=known, buyer_clusters=set(mine))
    assert ("cluster_id" in {e.field for e in errors}) == (not known or cluster not in mine)
