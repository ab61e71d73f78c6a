"""Retiring a machine: its windows that have not ended close (window.closed each), it is gone
for every read and write, and it is refused while work is held or accepted on it."""

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
