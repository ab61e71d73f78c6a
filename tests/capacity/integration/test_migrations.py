"""Capacity's migrations build the tables its models describe; 0005 (a reservation's job) can be
undone and redone, and a reservation without a job reads back as one held from a version 1
proposal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy.orm import sessionmaker

from services.capacity.adapters.orm import Base
from services.capacity.adapters.unit_of_work import SqlAlchemyCapacityUnitOfWork
from services.capacity.bootstrap import MIGRATIONS_DIR
from services.capacity.domain.model import Cluster, Factory, Machine
from services.capacity.domain.reservations import Job, Reservation
from services.capacity.domain.windows import Window
from shared.db import make_engine
from tests.helpers import alembic_config, diff_table, migrated_schema

pytestmark = pytest.mark.integration

AT = datetime(2030, 1, 7, 8, tzinfo=UTC)


def test_migrations_match_the_models(database_url: str) -> None:
    (diff,), _tables = migrated_schema(database_url, MIGRATIONS_DIR, Base.metadata)
    # outbox, inbox and the audit log belong to shared, not to capacity's models
    assert [d for d in diff if diff_table(d) in Base.metadata.tables] == []


def test_0005_can_be_undone_and_redone_a_reservation_then_has_no_job(
        database_url: str) -> None:
    cfg = alembic_config(database_url, MIGRATIONS_DIR)
    command.upgrade(cfg, "head")
    engine = make_engine(database_url)
    sessions = sessionmaker(engine)
    try:
        with SqlAlchemyCapacityUnitOfWork(sessions) as uow:
            uow.clusters.add(Cluster("qhd-auto", "Qinhuangdao", 39.93, 119.6))
            uow.factories.add(Factory("fac-1", "firm-s1", "qhd-auto", "F", 39.95, 119.58,
                                      "basic"))
            uow.machines.add(Machine("mac-1", "fac-1", "mill", "cnc_milling", ["steel"], 180.0))
            uow.commit()
        with SqlAlchemyCapacityUnitOfWork(sessions) as uow:  # the window, then its hold
            uow.windows.add(Window("win-1", "mac-1", "fac-1", "qhd-auto", AT,
                                   AT + timedelta(hours=48), 20.0, held_hours=6.0))
            uow.commit()
        with SqlAlchemyCapacityUnitOfWork(sessions) as uow:
            uow.reservations.add(Reservation(
                "res-1", "ord-1", "stp-1", "win-1", "fac-1", "qhd-auto", 6.0, 1080.0,
                expires_at=AT, created_at=AT,
                job=Job("Brackets", "cnc_milling", "steel", 500, AT + timedelta(days=7))))
            uow.commit()
        with SqlAlchemyCapacityUnitOfWork(sessions) as uow:
            held = uow.reservations.get("res-1")
        assert held is not None and held.job == Job("Brackets", "cnc_milling", "steel", 500,
                                                    AT + timedelta(days=7))
        command.downgrade(cfg, "0004")
        command.upgrade(cfg, "head")
        with SqlAlchemyCapacityUnitOfWork(sessions) as uow:
            again = uow.reservations.get("res-1")
        assert again is not None and again.job is None  # as held from a version 1 proposal
        assert (again.hours, again.price, again.status) == (6.0, 1080.0, held.status)
    finally:
        engine.dispose()
