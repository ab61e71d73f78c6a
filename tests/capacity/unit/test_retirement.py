"""Retiring a machine, or a whole factory: the windows that have not ended close (window.closed
each), what is retired is gone for every read and write (a factory's reservations stay
readable), and it is refused while work is held or accepted there."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.capacity.domain import commands as c
from services.capacity.domain.errors import (
    Forbidden,
    ImportRejected,
    NotFound,
    RowError,
    WindowInUse,
)
from services.capacity.service_layer import handlers, views, window_handlers
from tests.capacity.unit.conftest import OPERATOR, OTHER_SUPPLIER, SUPPLIER, T0, Seeded
from tests.capacity.unit.test_allocation_handler import hold

LATER = T0 + timedelta(hours=48)  # the seeded window ends here


def retire(seeded: Seeded, actor=SUPPLIER, at=T0) -> None:  # type: ignore[no-untyped-def]
    handlers.retire_machine(c.RetireMachine(actor, seeded.machine_id, at=at), seeded.uow)


def second_window(seeded: Seeded) -> str:
    return handlers.open_machine_window(c.OpenWindow(
        SUPPLIER, seeded.machine_id, start=LATER, end=LATER + timedelta(hours=24), hours=8.0,
        at=T0), seeded.uow).id


def test_a_retired_machine_closes_its_windows_and_is_gone(seeded: Seeded) -> None:
    later = second_window(seeded)
    retire(seeded)
    closed = [e.payload["window_id"] for e in seeded.uow.events if e.type == "window.closed"]
    assert closed == [seeded.window_id, later]
    with pytest.raises(NotFound):
        views.get_machine(SUPPLIER, seeded.machine_id, seeded.uow)
    assert views.list_machines(SUPPLIER, seeded.factory_id, seeded.uow).items == []
    with pytest.raises(NotFound):
        views.get_window(SUPPLIER, later, seeded.uow)
    with pytest.raises(NotFound):  # no new windows, no changes
        second_window(seeded)
    with pytest.raises(NotFound):
        retire(seeded)
    (entry,) = seeded.uow.committed.audit
    assert (entry.action, entry.object_id, entry.detail) == (
        "machine.retired", seeded.machine_id,
        {"factory_id": seeded.factory_id, "closed_windows": [seeded.window_id, later]})


def test_an_import_row_naming_a_retired_machine_is_refused(seeded: Seeded) -> None:
    retire(seeded)
    start = LATER + timedelta(days=2)
    csv = (f"machine_id,start,end,hours\n{seeded.machine_id},{start.isoformat()},"
           f"{(start + timedelta(hours=8)).isoformat()},4\n")
    with pytest.raises(ImportRejected) as exc:
        window_handlers.import_windows(c.ImportWindows(SUPPLIER, csv, at=T0), seeded.uow)
    assert exc.value.errors == [RowError(1, "machine_id", "unknown machine")]


@pytest.mark.parametrize("accept", [False, True])
def test_work_held_or_accepted_on_it_keeps_it_in_service(seeded: Seeded, accept: bool) -> None:
    later = second_window(seeded)
    hold(seeded, "o1", ("s1", later, 6.0))
    if accept:
        rid = next(iter(seeded.uow.committed.reservations))
        handlers.accept_reservation(c.AcceptReservation(SUPPLIER, rid, at=T0), seeded.uow)
    before = len(seeded.uow.events)
    with pytest.raises(WindowInUse) as exc:
        retire(seeded)
    assert f"window {later} (6 h {'accepted' if accept else 'held'})" in str(exc.value)
    assert seeded.window_id not in str(exc.value)
    assert len(seeded.uow.events) == before
    assert views.get_machine(SUPPLIER, seeded.machine_id, seeded.uow).retired_at is None
    assert views.get_window(SUPPLIER, seeded.window_id, seeded.uow).closed_at is None


def test_windows_that_have_ended_stay_as_the_record_of_work_done(seeded: Seeded) -> None:
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    rid = next(iter(seeded.uow.committed.reservations))
    handlers.accept_reservation(c.AcceptReservation(SUPPLIER, rid, at=T0), seeded.uow)
    later = second_window(seeded)
    retire(seeded, at=LATER + timedelta(hours=1))  # the first window has ended
    closed = [e.payload["window_id"] for e in seeded.uow.events if e.type == "window.closed"]
    assert closed == [later]
    assert views.get_window(SUPPLIER, seeded.window_id, seeded.uow).accepted_hours == 6.0
    assert views.get_reservation(SUPPLIER, rid, seeded.uow).status == "accepted"


def test_only_the_owner_retires_its_machine(seeded: Seeded) -> None:
    with pytest.raises(NotFound):
        retire(seeded, OTHER_SUPPLIER)
    with pytest.raises(Forbidden):
        retire(seeded, OPERATOR)
    assert views.get_machine(SUPPLIER, seeded.machine_id, seeded.uow).retired_at is None


def retire_factory(seeded: Seeded, actor=SUPPLIER, at=T0) -> None:  # type: ignore[no-untyped-def]
    handlers.retire_factory(c.RetireFactory(actor, seeded.factory_id, at=at), seeded.uow)


def test_a_retired_factory_retires_its_machines_and_is_gone_but_for_its_reservations(
        seeded: Seeded) -> None:
    other = handlers.add_machine(c.AddMachine(SUPPLIER, seeded.factory_id, name="lathe",
                                              process="cnc_turning", hourly_rate=150.0),
                                 seeded.uow)
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    rid = next(iter(seeded.uow.committed.reservations))
    handlers.decline_reservation(c.DeclineReservation(SUPPLIER, rid, "no", at=T0), seeded.uow)
    later = second_window(seeded)
    retire_factory(seeded)
    closed = [e.payload["window_id"] for e in seeded.uow.events if e.type == "window.closed"]
    assert closed == [seeded.window_id, later]
    for read in (lambda: views.get_factory(SUPPLIER, seeded.factory_id, seeded.uow),
                 lambda: views.get_machine(SUPPLIER, seeded.machine_id, seeded.uow),
                 lambda: views.get_machine(SUPPLIER, other.id, seeded.uow),
                 lambda: views.list_machines(SUPPLIER, seeded.factory_id, seeded.uow)):
        with pytest.raises(NotFound):
            read()
    assert views.list_factories(SUPPLIER, seeded.uow, cursor=None, limit=50).items == []
    assert views.list_factories(OPERATOR, seeded.uow, cursor=None, limit=50,
                                verified=False).items == []  # not in the operator's queue
    with pytest.raises(NotFound):
        handlers.verify_tier(c.VerifyTier(OPERATOR, seeded.factory_id, "basic"), seeded.uow)
    with pytest.raises(NotFound):
        handlers.add_machine(c.AddMachine(SUPPLIER, seeded.factory_id, name="x",
                                          process="grinding", hourly_rate=1.0), seeded.uow)
    assert views.get_reservation(SUPPLIER, rid, seeded.uow).status == "declined"  # history
    entry = seeded.uow.committed.audit[-1]
    assert (entry.action, entry.detail) == ("factory.retired", {
        "machines": sorted([seeded.machine_id, other.id]),
        "closed_windows": [seeded.window_id, later]})


def test_work_held_anywhere_in_the_factory_keeps_all_of_it_in_service(seeded: Seeded) -> None:
    later = second_window(seeded)
    hold(seeded, "o1", ("s1", later, 6.0))
    before = len(seeded.uow.events)
    with pytest.raises(WindowInUse) as exc:
        retire_factory(seeded)
    assert f"window {later} (6 h held)" in str(exc.value)
    assert str(exc.value).endswith("before retiring the factory")
    assert len(seeded.uow.events) == before
    assert views.get_factory(SUPPLIER, seeded.factory_id, seeded.uow).retired_at is None
    assert views.get_window(SUPPLIER, seeded.window_id, seeded.uow).closed_at is None


def test_only_the_owner_retires_its_factory(seeded: Seeded) -> None:
    with pytest.raises(NotFound):
        retire_factory(seeded, OTHER_SUPPLIER)
    with pytest.raises(Forbidden):
        retire_factory(seeded, OPERATOR)
    assert views.get_factory(SUPPLIER, seeded.factory_id, seeded.uow).retired_at is None
