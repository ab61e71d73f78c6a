"""A fake unit of work seeded with one cluster, factory, machine and window (via handlers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.capacity.domain import commands as c
from services.capacity.domain.model import Actor
from services.capacity.service_layer import handlers
from tests.capacity.unit.fakes import FakeUnitOfWork

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
OPERATOR = Actor("platform", "operator")
SUPPLIER = Actor("firm-s1", "supplier", ("qhd-auto",))
OTHER_SUPPLIER = Actor("firm-s2", "supplier", ("qhd-auto",))


@dataclass
class Seeded:
    uow: FakeUnitOfWork
    factory_id: str
    machine_id: str
    window_id: str


@pytest.fixture
def seeded() -> Seeded:
    uow = FakeUnitOfWork()
    handlers.create_cluster(c.CreateCluster(OPERATOR, "qhd-auto", "Qinhuangdao", 39.93, 119.6),
                            uow)
    factory = handlers.register_factory(c.RegisterFactory(
        SUPPLIER, "qhd-auto", "Haigang Precision", 39.95, 119.58, "advanced", True,
        ("ISO9001",)), uow)
    machine = handlers.add_machine(c.AddMachine(SUPPLIER, factory.id, name="mill",
                                                process="cnc_milling", hourly_rate=180.0), uow)
    window = handlers.open_machine_window(c.OpenWindow(
        SUPPLIER, machine.id, start=T0, end=T0 + timedelta(hours=48), hours=20.0, at=T0), uow)
    return Seeded(uow, factory.id, machine.id, window.id)
