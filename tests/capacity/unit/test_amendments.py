"""A supplier keeps its factory and machines current: what changes, the event and the audit
entry each change writes, and the tier rules (a higher claim awaits the operator; a lower
one takes the verified tier down with it)."""

from __future__ import annotations

import pytest

from services.capacity.domain import commands as c
from services.capacity.domain.errors import Forbidden, InvalidInput, NotFound
from services.capacity.domain.model import FactoryChanges, MachineChanges
from services.capacity.service_layer import handlers, views
from tests.capacity.unit.conftest import OPERATOR, OTHER_SUPPLIER, SUPPLIER, T0, Seeded


def update_factory(seeded: Seeded, actor=SUPPLIER, **changes):  # type: ignore[no-untyped-def]
    return handlers.update_factory(
        c.UpdateFactory(actor, seeded.factory_id, FactoryChanges(**changes), at=T0), seeded.uow)


def update_machine(seeded: Seeded, actor=SUPPLIER, **changes):  # type: ignore[no-untyped-def]
    return handlers.update_machine(
        c.UpdateMachine(actor, seeded.machine_id, MachineChanges(**changes), at=T0), seeded.uow)


def audit(seeded: Seeded) -> list[tuple[str, str, dict]]:
    return [(e.action, e.object_id, e.detail) for e in seeded.uow.committed.audit]


def test_a_new_certification_is_stored_published_in_full_and_audited(seeded: Seeded) -> None:
    factory = update_factory(seeded, certifications=["ISO9001", "IATF16949"], name="Haigang")
    assert (factory.certifications, factory.name) == (["ISO9001", "IATF16949"], "Haigang")
    assert views.get_factory(SUPPLIER, seeded.factory_id, seeded.uow) == factory
    event = seeded.uow.events[-1]
    assert event.type == "factory.updated"
    assert {k: event.payload[k] for k in ("certifications", "name", "lat", "declared_tier",
                                      "verified_tier", "firm_id")} == {
        "certifications": ["ISO9001", "IATF16949"], "name": "Haigang", "lat": 39.95,
        "declared_tier": "advanced", "verified_tier": None, "firm_id": "firm-s1"}
    assert audit(seeded) == [("factory.updated", seeded.factory_id, {
        "name": "Haigang", "certifications": ["ISO9001", "IATF16949"]})]


def test_a_change_to_what_is_already_there_writes_nothing(seeded: Seeded) -> None:
    before = (len(seeded.uow.events), seeded.uow.commits)
    factory = update_factory(seeded, name="Haigang Precision", certifications=["ISO9001"],
                             sme=True)
    machine = update_machine(seeded, hourly_rate=180.0)
    assert (factory.name, machine.hourly_rate) == ("Haigang Precision", 180.0)
    assert (len(seeded.uow.events), seeded.uow.commits) == before
    assert audit(seeded) == []


def test_an_empty_list_removes_every_certification(seeded: Seeded) -> None:
    assert update_factory(seeded, certifications=[]).certifications == []
    assert seeded.uow.events[-1].payload["certifications"] == []


def test_a_higher_declared_tier_awaits_the_operator_and_matching_keeps_the_verified_one(
        seeded: Seeded) -> None:
    handlers.verify_tier(c.VerifyTier(OPERATOR, seeded.factory_id, "advanced"), seeded.uow)
    assert views.get_factory(OPERATOR, seeded.factory_id, seeded.uow) \
        .tier_verification_pending is False
    factory = update_factory(seeded, declared_tier="leading")
    assert (factory.declared_tier, factory.verified_tier, factory.tier_verification_pending) \
        == ("leading", "advanced", True)
    assert seeded.uow.events[-1].payload["verified_tier"] == "advanced"
    queue = views.list_factories(OPERATOR, seeded.uow, cursor=None, limit=50, verified=False)
    assert [f.id for f in queue.items] == [seeded.factory_id]
    verified = handlers.verify_tier(c.VerifyTier(OPERATOR, seeded.factory_id, "excellent"),
                                    seeded.uow)
    assert (verified.verified_tier, verified.tier_verification_pending) == ("excellent", False)
    assert views.list_factories(OPERATOR, seeded.uow, cursor=None, limit=50,
                                verified=False).items == []


def test_a_lower_declared_tier_takes_the_verified_tier_down_and_needs_no_check(
        seeded: Seeded) -> None:
    handlers.verify_tier(c.VerifyTier(OPERATOR, seeded.factory_id, "excellent"), seeded.uow)
    factory = update_factory(seeded, declared_tier="basic")
    assert (factory.declared_tier, factory.verified_tier, factory.tier_verification_pending) \
        == ("basic", "basic", False)
    assert audit(seeded)[-1] == ("factory.updated", seeded.factory_id,
                                 {"declared_tier": "basic", "verified_tier": "basic"})


def test_withdrawing_a_higher_claim_ends_the_wait(seeded: Seeded) -> None:
    handlers.verify_tier(c.VerifyTier(OPERATOR, seeded.factory_id, "advanced"), seeded.uow)
    assert update_factory(seeded, declared_tier="leading").tier_verification_pending
    factory = update_factory(seeded, declared_tier="advanced")
    assert (factory.verified_tier, factory.tier_verification_pending) == ("advanced", False)


def test_a_factory_never_verified_keeps_waiting_whatever_it_declares(seeded: Seeded) -> None:
    factory = update_factory(seeded, declared_tier="basic")
    assert (factory.verified_tier, factory.tier_verification_pending) == (None, True)


def test_an_unknown_tier_changes_nothing(seeded: Seeded) -> None:
    before = len(seeded.uow.events)
    with pytest.raises(InvalidInput) as exc:
        update_factory(seeded, declared_tier="platinum", name="X")
    assert exc.value.field == "declared_tier"
    assert views.get_factory(SUPPLIER, seeded.factory_id, seeded.uow).name \
        == "Haigang Precision"
    assert len(seeded.uow.events) == before


def test_another_firms_factory_and_machine_read_as_unknown(seeded: Seeded) -> None:
    with pytest.raises(NotFound):
        update_factory(seeded, OTHER_SUPPLIER, name="Mine now")
    with pytest.raises(NotFound):
        update_machine(seeded, OTHER_SUPPLIER, hourly_rate=1.0)
    assert seeded.uow.event_types()[-1] == "window.opened"


def test_the_operator_verifies_tiers_but_does_not_edit_a_suppliers_data(seeded: Seeded) -> None:
    with pytest.raises(Forbidden):
        update_factory(seeded, OPERATOR, certifications=["AS9100"])
    with pytest.raises(Forbidden):
        update_machine(seeded, OPERATOR, hourly_rate=100.0)


def test_a_new_rate_and_materials_are_stored_published_and_audited(seeded: Seeded) -> None:
    machine = update_machine(seeded, hourly_rate=150.0, materials=["steel", "titanium"])
    assert (machine.hourly_rate, machine.materials) == (150.0, ["steel", "titanium"])
    assert views.get_machine(SUPPLIER, seeded.machine_id, seeded.uow) == machine
    event = seeded.uow.events[-1]
    assert (event.type, event.key) == ("machine.updated", "qhd-auto")
    assert {k: event.payload[k] for k in ("machine_id", "process", "materials",
                                          "hourly_rate", "factory_id")} == {
        "machine_id": seeded.machine_id, "process": "cnc_milling",
        "materials": ["steel", "titanium"], "hourly_rate": 150.0,
        "factory_id": seeded.factory_id}
    assert audit(seeded) == [("machine.updated", seeded.machine_id, {
        "factory_id": seeded.factory_id, "materials": ["steel", "titanium"],
        "hourly_rate": 150.0})]


@pytest.mark.parametrize("rate", [0.0, -5.0])
def test_a_rate_must_stay_above_zero(seeded: Seeded, rate: float) -> None:
    with pytest.raises(InvalidInput) as exc:
        update_machine(seeded, hourly_rate=rate, name="renamed")
    assert exc.value.field == "hourly_rate"
    assert views.get_machine(SUPPLIER, seeded.machine_id, seeded.uow).name == "mill"
