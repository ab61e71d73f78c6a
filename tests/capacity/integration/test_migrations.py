"""Capacity's migrations build the tables its models describe; 0005 (a reservation's job) can be
undone and redone, and a reservation without a job reads back as one held from a version 1
proposal; 0006 keeps the verifications made before it (only unverified factories await the
operator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
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


def test_0006_keeps_earlier_verifications_and_queues_only_the_unverified(
        database_url: str) -> None:
    cfg = alembic_config(database_url, MIGRATIONS_DIR)
    command.upgrade(cfg, "0005")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # as 0005 left them: no column for the queue yet
            conn.execute(sa.text(
                "INSERT INTO clusters (id, name, lat, lon, max_distance_km, created_at) "
                "VALUES ('qhd-auto', 'Q', 39.93, 119.6, 60, :at)"), {"at": AT})
            conn.execute(sa.text(
                "INSERT INTO factories (id, firm_id, cluster_id, name, lat, lon, declared_tier,"
                " verified_tier, sme, certifications, created_at) VALUES (:id, 'firm-s1', "
                "'qhd-auto', 'F', 39.95, 119.58, 'advanced', :verified, true, '[]', :at)"),
                [{"id": "fac-checked", "verified": "advanced", "at": AT},
                 {"id": "fac-waiting", "verified": None, "at": AT}])
        command.upgrade(cfg, "head")
        sessions = sessionmaker(engine)
        with SqlAlchemyCapacityUnitOfWork(sessions) as uow:
            pending = {f.id: f.tier_verification_pending for f in uow.factories.page(
                firm_id=None, after=None, limit=10)}
            queue = [f.id for f in uow.factories.page(firm_id=None, after=None, limit=10,
                                                      verified=False)]
        assert pending == {"fac-checked": False, "fac-waiting": True}
        assert queue == ["fac-waiting"]
        command.downgrade(cfg, "0005")
        command.upgrade(cfg, "head")
        with SqlAlchemyCapacityUnitOfWork(sessions) as uow:
            checked = uow.factories.get("fac-checked")
        assert checked is not None and checked.verified_tier == "advanced"
        assert checked.tier_verification_pending is False
    finally:
        engine.dispose()
