"""Command handlers over the fake unit of work: rules, ownership and the events written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.capacity.domain import commands as c
from services.capacity.domain.errors import (
    DuplicateId,
    Forbidden,
    InvalidInput,
    NotFound,
    WindowOverlap,
)
from services.capacity.service_layer import handlers, views
from tests.capacity.unit.conftest import OPERATOR, OTHER_SUPPLIER, SUPPLIER, T0, Seeded
from tests.capacity.unit.fakes import FakeUnitOfWork


def test_setup_writes_one_event_per_change(seeded: Seeded) -> None:
    assert seeded.uow.event_types() == [
        "cluster.created", "factory.registered", "machine.added", "window.opened"]
    opened = seeded.uow.events[-1]
    assert opened.key == "qhd-auto"
    assert opened.payload["factory_id"] == seeded.factory_id


def test_a_cluster_id_is_taken_once(seeded: Seeded) -> None:
    with pytest.raises(DuplicateId):
        handlers.create_cluster(c.CreateCluster(OPERATOR, "qhd-auto", "again", 0, 0), seeded.uow)
    assert seeded.uow.event_types().count("cluster.created") == 1


def test_only_the_operator_creates_clusters() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(Forbidden):
        handlers.create_cluster(c.CreateCluster(SUPPLIER, "x-y", "X", 0, 0), uow)
    assert uow.commits == 0


@pytest.mark.parametrize("cluster_id", ["nowhere", "other-cluster"])
def test_factories_join_known_clusters_of_the_token(seeded: Seeded, cluster_id: str) -> None:
    handlers.create_cluster(c.CreateCluster(OPERATOR, "other-cluster", "O", 0, 0), seeded.uow)
    with pytest.raises(InvalidInput) as exc:
        handlers.register_factory(c.RegisterFactory(SUPPLIER, cluster_id, "F", 0, 0, "basic"),
                                  seeded.uow)
    assert exc.value.field == "cluster_id"


def test_tier_verification_emits_the_full_factory_state(seeded: Seeded) -> None:
    factory = handlers.verify_tier(c.VerifyTier(OPERATOR, seeded.factory_id, "excellent"),
                                   seeded.uow)
    assert factory.verified_tier == "excellent"
    updated = seeded.uow.events[-1]
    assert updated.type == "factory.updated"
    assert updated.payload["verified_tier"] == "excellent"
    assert updated.payload["firm_id"] == "firm-s1"


def test_other_firms_objects_are_not_found(seeded: Seeded) -> None:
    with pytest.raises(NotFound):
        handlers.add_machine(c.AddMachine(OTHER_SUPPLIER, seeded.factory_id, name="x",
                                          process="welding", hourly_rate=1.0), seeded.uow)
    with pytest.raises(NotFound):
        handlers.open_machine_window(c.OpenWindow(
            OTHER_SUPPLIER, seeded.machine_id, start=T0 + timedelta(days=9),
            end=T0 + timedelta(days=10), hours=1.0, at=T0), seeded.uow)
    with pytest.raises(NotFound):
        views.get_factory(OTHER_SUPPLIER, seeded.factory_id, seeded.uow)
    assert views.list_factories(OTHER_SUPPLIER, seeded.uow, cursor=None, limit=50).items == []
    assert len(seeded.uow.events) == 4


def test_an_unknown_process_is_refused(seeded: Seeded) -> None:
    with pytest.raises(InvalidInput) as exc:
        handlers.add_machine(c.AddMachine(SUPPLIER, seeded.factory_id, name="x",
                                          process="alchemy", hourly_rate=1.0), seeded.uow)
    assert exc.value.field == "process"


def test_overlapping_windows_are_refused(seeded: Seeded) -> None:
    with pytest.raises(WindowOverlap):
        handlers.open_machine_window(c.OpenWindow(
            SUPPLIER, seeded.machine_id, start=T0 + timedelta(hours=40),
            end=T0 + timedelta(hours=60), hours=5.0, at=T0), seeded.uow)
    assert len(views.list_windows(SUPPLIER, seeded.machine_id, seeded.uow).items) == 1


def test_factory_pages_follow_the_cursor(seeded: Seeded) -> None:
    for n in range(4):
        handlers.register_factory(c.RegisterFactory(SUPPLIER, "qhd-auto", f"F{n}", 0, 0,
                                                    "basic"), seeded.uow)
    first = views.list_factories(SUPPLIER, seeded.uow, cursor=None, limit=3)
    second = views.list_factories(SUPPLIER, seeded.uow, cursor=first.next_cursor, limit=3)
    assert len(first.items) == 3 and first.next_cursor == first.items[-1].id
    assert len(second.items) == 2 and second.next_cursor is None
    assert {f.id for f in first.items}.isdisjoint({f.id for f in second.items})
