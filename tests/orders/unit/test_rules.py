"""Validation rules of new orders: the step DAG, ranges, vocabulary and the cluster."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.orders.domain.errors import FieldError, InvalidOrder
from services.orders.domain.model import Order
from services.orders.domain.rules import Location, dag_errors, find_cycles, validate_terms
from tests.orders.unit.fakes import NOW, step, terms


def errors_of(t, *, known=True, clusters=("qhd-auto",)):  # type: ignore[no-untyped-def]
    return validate_terms(t, now=NOW, cluster_known=known, buyer_clusters=clusters)


def fields(t, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.field for e in errors_of(t, **kwargs)]


def test_a_valid_order_has_no_errors() -> None:
    t = terms(step("cut", process="laser_cutting"), step("bend", "cut", process="sheet_metal"),
              step("weld", "cut", "bend", process="welding"))
    assert errors_of(t) == []


def test_a_diamond_is_a_dag() -> None:
    t = terms(step("a"), step("b", "a"), step("c", "a"), step("d", "b", "c"))
    assert dag_errors(t.steps) == []


@pytest.mark.parametrize(("steps", "bad"), [
    ((step("a", "a"),), ["steps.0.after"]),
    ((step("a", "b"), step("b", "a")), ["steps.0.after", "steps.1.after"]),
    ((step("x"), step("a", "c"), step("b", "a"), step("c", "b"), step("d", "c")),
     ["steps.1.after", "steps.2.after", "steps.3.after"]),
])
def test_cycles_name_each_step_on_them(steps, bad) -> None:  # type: ignore[no-untyped-def]
    errors = dag_errors(steps)
    assert [e.field for e in errors] == bad
    assert all("wait on each other" in e.message for e in errors)


def test_find_cycles_reports_the_nodes_of_a_cycle() -> None:
    assert find_cycles({0: [1], 1: [2], 2: [0], 3: [0]}) == [[0, 1, 2]]
    assert find_cycles({0: [1, 2], 1: [3], 2: [3], 3: []}) == []


def test_duplicate_keys_and_unknown_after_keys() -> None:
    t = terms(step("a"), step("b", "a", "ghost"), step("a"))
    assert fields(t) == ["steps.2.key", "steps.1.after"]


def test_unknown_process_and_non_positive_hours() -> None:
    t = terms(step("a", process="teleporting"), step("b", hours=0), step("c", hours=-1))
    assert fields(t) == ["steps.0.process", "steps.1.hours", "steps.2.hours"]


def test_due_must_be_in_the_future() -> None:
    assert fields(terms(due=NOW)) == ["due"]
    assert fields(terms(due=NOW - timedelta(days=1))) == ["due"]
    assert fields(terms(due=NOW + timedelta(seconds=1))) == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"delivery": Location(91, 0)}, "delivery.lat"),
    ({"delivery": Location(-90.5, 0)}, "delivery.lat"),
    ({"delivery": Location(0, 180.1)}, "delivery.lon"),
    ({"max_distance_km": 0}, "max_distance_km"),
    ({"max_distance_km": 500.5}, "max_distance_km"),
    ({"min_tier": "platinum"}, "min_tier"),
    ({"priority": 6}, "priority"),
    ({"budget": 0}, "budget"),
    ({"max_factories": 0}, "max_factories"),
    ({"allowed_factories": ("f1", "f2"), "blocked_factories": ("f2",)}, "blocked_factories"),
    ({"steps": ()}, "steps"),
    ({"steps": tuple(step(f"s{i}") for i in range(51))}, "steps"),
    ({"allowed_factories": tuple(f"f{i}" for i in range(201))}, "allowed_factories"),
    ({"blocked_factories": tuple(f"f{i}" for i in range(201))}, "blocked_factories"),
])
def test_ranges(changes, field) -> None:  # type: ignore[no-untyped-def]
    assert fields(terms(**changes)) == [field]


def test_the_limits_themselves_are_allowed() -> None:
    assert fields(terms(max_distance_km=500)) == []
    assert fields(terms(*(step(f"s{i}") for i in range(50)))) == []
    ids = tuple(f"f{i}" for i in range(200))
    assert fields(terms(allowed_factories=ids, budget=0.01, max_factories=1)) == []
    assert fields(terms(blocked_factories=ids)) == []


def test_the_cluster_must_be_known_and_the_buyers() -> None:
    assert fields(terms(), known=False) == ["cluster_id"]
    assert fields(terms(), clusters=("other",)) == ["cluster_id"]
    assert "unknown cluster" in errors_of(terms(), known=False)[0].message


def test_all_errors_are_reported_together() -> None:
    t = replace(terms(step("a", "b"), step("b", "a", process="nope")), due=NOW)
    assert fields(t, known=False) == [
        "cluster_id", "due", "steps.1.process", "steps.0.after", "steps.1.after"]


def test_submit_refuses_invalid_terms_naming_the_fields() -> None:
    with pytest.raises(InvalidOrder) as caught:
        Order.submit(terms(step("a", "a")), buyer_firm_id="b1", buyer_clusters=("qhd-auto",),
                     cluster_known=True, now=NOW)
    assert caught.value.errors == [FieldError("steps.0.after", "steps wait on each other: a -> a")]


def test_submit_makes_ids_and_pending_steps() -> None:
    order = Order.submit(terms(step("a"), step("b", "a", "a")), buyer_firm_id="b1",
                         buyer_clusters=("qhd-auto",), cluster_known=True, now=NOW)
    assert order.id.startswith("ord_") and order.status == "submitted"
    assert [s.status for s in order.steps] == ["pending", "pending"]
    assert order.steps[1].after == ["a"]  # repeats dropped
    assert len({s.id for s in order.steps}) == 2
    assert order.created_at == order.updated_at == NOW
