"""factory.updated and machine.updated: the read model takes the new state, and a change that
lets the factory or machine serve more gives the cluster's unplaced steps another try, the
way new capacity does. Changes that serve no more retry nothing."""

from __future__ import annotations

import pytest

from services.matcher.domain import reasons
from services.matcher.domain.readmodel import PENDING, PROPOSED, UNPLACED
from shared.events import EventPayload
from shared.events import payloads as ev
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.conftest import feed, plan


def steel(material: str = "steel") -> list[ev.SubmittedStep]:
    return [ev.SubmittedStep(step_id="stp-2", key="k0", process="cnc_milling",
                             material=material, quantity=500, hours=6.0, after=[])]


def fac(**kw) -> ev.FactoryState:  # type: ignore[no-untyped-def]
    """fac-1 as the walk-through left it (verified advanced, ISO9001), with ``kw`` changed."""
    return e.factory(ev.FactoryUpdated, **{"verified_tier": "advanced", **kw})


# (the order ord-2 asks for, its reason, the change that lets fac-1 / mch-1 take it)
SERVES_MORE = [
    (dict(min_tier="excellent"), reasons.TIER_BELOW_MINIMUM, fac(verified_tier="excellent")),
    (dict(certifications=["IATF16949"]), reasons.CERTIFICATION_MISSING,
     fac(certifications=["ISO9001", "IATF16949"])),
    (dict(max_distance_km=1.0, delivery_lat=39.96, delivery_lon=119.57),
     reasons.OUTSIDE_DISTANCE, fac(lat=39.96, lon=119.57)),
    (dict(steps=steel("titanium")), reasons.MATERIAL_UNSUPPORTED,
     e.machine_updated(materials=("steel", "aluminium", "titanium"))),
    # 6 h × 180 CNY is over 1,000; 6 h × 150 plus transport is not
    (dict(budget=1000.0), reasons.OVER_BUDGET, e.machine_updated(hourly_rate=150.0)),
]


@pytest.mark.parametrize(("asks", "reason", "change"), SERVES_MORE)
def test_a_change_that_serves_more_retries_the_unplaced_step_and_places_it(
        uow, asks: dict, reason: str, change: EventPayload) -> None:  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", **asks))
    plan(uow)
    step = uow.read_model.steps["stp-2"]
    assert (step.status, step.reason) == (UNPLACED, reason)
    feed(uow, change)
    assert uow.read_model.steps["stp-2"].status == PENDING
    assert uow.read_model.clusters_with_pending() == [e.CLUSTER]
    plan(uow)
    step = uow.read_model.steps["stp-2"]
    assert (step.status, step.window_id) == (PROPOSED, "win-1")


SERVES_NO_MORE = [
    fac(name="Haigang"), fac(sme=False), fac(certifications=[]),
    fac(verified_tier="basic"), fac(declared_tier="leading"),
    e.machine_updated(hourly_rate=200.0), e.machine_updated(materials=("steel",)),
]


@pytest.mark.parametrize("change", SERVES_NO_MORE)
def test_a_change_that_serves_no_more_retries_nothing_but_is_stored(
        uow, change: EventPayload) -> None:  # type: ignore[no-untyped-def]
    feed(uow, e.order_submitted(T0, "ord-2", min_tier="excellent"))
    plan(uow)
    feed(uow, change)
    assert uow.read_model.steps["stp-2"].status == UNPLACED
    assert uow.read_model.clusters_with_pending() == []
    stored = (uow.read_model.factories["fac-1"] if isinstance(change, ev.FactoryState)
              else uow.read_model.machines["mch-1"])
    assert all(getattr(stored, k) == (tuple(v) if isinstance(v, list) else v)
               for k, v in change.model_dump().items() if hasattr(stored, k))


def test_a_new_rate_prices_the_next_plan(uow) -> None:  # type: ignore[no-untyped-def]
    feed(uow, e.machine_updated(hourly_rate=150.0))
    plan(uow)
    step = uow.read_model.steps["stp-1"]
    assert step.status == PROPOSED and step.price is not None
    assert step.price == pytest.approx(6 * 150.0 + 2.0 * step.transport_km, abs=0.01)
