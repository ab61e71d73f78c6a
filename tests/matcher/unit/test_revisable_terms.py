"""An unplaced step's explanation names the order terms that stand in the way, which its buyer
may revise; a step that waits for capacity, or is placed, names none."""

from __future__ import annotations

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.model import Parameters
from services.matcher.service_layer import views
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import NOW, feed, plan


def explain(uow, step_id: str = "stp-2"):  # type: ignore[no-untyped-def]
    return views.explain_step(step_id, uow=uow, params=Parameters(), now=NOW)


@pytest.mark.parametrize(("asks", "reason", "terms"), [
    (dict(min_tier="leading"), reasons.TIER_BELOW_MINIMUM, ("min_tier",)),
    (dict(max_distance_km=1.0), reasons.OUTSIDE_DISTANCE, ("max_distance_km", "delivery")),
    (dict(budget=1000.0), reasons.OVER_BUDGET, ("budget",)),  # 6 h × 180 CNY and transport
    (dict(hours=16.0), reasons.CAPACITY_TAKEN, ()),  # ord-1 took 6 of the 20 h
])
def test_the_explanation_names_the_terms_its_buyer_may_revise(
        uow, asks: dict, reason: str, terms: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", **asks))
    plan(uow)
    why = explain(uow)
    assert (why.status, why.reason, why.revisable_terms) == ("unplaced", reason, terms)


def test_a_placed_step_names_no_term(uow) -> None:  # type: ignore[no-untyped-def]
    plan(uow)
    why = explain(uow, "stp-1")
    assert (why.status, why.revisable_terms) == ("proposed", ())
