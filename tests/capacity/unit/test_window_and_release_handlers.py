"""Window changes, imports, expiry and cancellation over the fake unit of work."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.capacity.domain import commands as c
from services.capacity.domain.errors import (
    Forbidden,
    ImportRejected,
    NotFound,
    WindowInUse,
)
from services.capacity.domain.reservations import Status
from services.capacity.entrypoints import expiry
from services.capacity.service_layer import handlers, views, window_handlers
from services.capacity.service_layer.releases import expire_due_holds, release_cancelled_order
from shared.events import new_event
from shared.events.payloads import OrderCancelled
from tests.capacity.unit.conftest import OPERATOR, OTHER_SUPPLIER, SUPPLIER, T0, Seeded
from tests.capacity.unit.test_allocation_handler import TTL, hold, window_hours


def _reservations(seeded: Seeded) -> dict[str, Status]:
    return {r.step_id: r.status for r in seeded.uow.committed.reservations.values()}


def test_update_window_writes_the_new_state_once(seeded: Seeded) -> None:
    cmd = c.UpdateWindow(SUPPLIER, seeded.window_id, hours=30.0)
    assert window_handlers.update_window(cmd, seeded.uow).hours == 30.0
    commits = seeded.uow.commits
    window_handlers.update_window(cmd, seeded.uow)  # the same again: nothing to do
    assert seeded.uow.commits == commits
    assert seeded.uow.event_types().count("window.updated") == 1
    assert seeded.uow.events[-1].payload["hours"] == 30.0


@pytest.mark.parametrize(("actor", "error"), [(OTHER_SUPPLIER, NotFound),
                                              (OPERATOR, Forbidden)])
def test_only_the_owner_changes_or_closes_a_window(seeded: Seeded, actor, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        window_handlers.update_window(c.UpdateWindow(actor, seeded.window_id, hours=5.0),
                                      seeded.uow)
    with pytest.raises(error):
        window_handlers.close_window(c.CloseWindow(actor, seeded.window_id), seeded.uow)
    assert seeded.uow.event_types()[-1] == "window.opened"


def test_close_window_hides_it_and_refuses_while_held(seeded: Seeded) -> None:
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    with pytest.raises(WindowInUse):
        window_handlers.close_window(c.CloseWindow(SUPPLIER, seeded.window_id), seeded.uow)
    expire_due_holds(seeded.uow, now=T0 + TTL)
    window_handlers.close_window(c.CloseWindow(SUPPLIER, seeded.window_id), seeded.uow)
    assert seeded.uow.event_types()[-1] == "window.closed"
    assert views.list_windows(SUPPLIER, seeded.machine_id, seeded.uow).items == []
    with pytest.raises(NotFound):
        views.get_window(SUPPLIER, seeded.window_id, seeded.uow)


def test_import_is_all_or_nothing(seeded: Seeded) -> None:
    start = T0 + timedelta(days=3)
    good = f"{seeded.machine_id},{start.isoformat()},{(start + timedelta(hours=8)).isoformat()},8"
    text = "machine_id,start,end,hours\n" + good + "\n"
    with pytest.raises(ImportRejected):
        window_handlers.import_windows(c.ImportWindows(OTHER_SUPPLIER, text, at=T0), seeded.uow)
    with pytest.raises(ImportRejected):  # the second row overlaps the existing window
        window_handlers.import_windows(c.ImportWindows(
            SUPPLIER, text + f"{seeded.machine_id},{T0.isoformat()},"
                             f"{(T0 + timedelta(hours=1)).isoformat()},1\n", at=T0),
            seeded.uow)
    assert len(views.list_windows(SUPPLIER, seeded.machine_id, seeded.uow).items) == 1
    [window] = window_handlers.import_windows(c.ImportWindows(SUPPLIER, text, at=T0), seeded.uow)
    assert seeded.uow.events[-1].payload["window_id"] == window.id
    with pytest.raises(Forbidden):
        window_handlers.import_windows(c.ImportWindows(OPERATOR, text, at=T0), seeded.uow)


def test_expiry_frees_only_due_holds_in_batches(seeded: Seeded) -> None:
    for n in range(3):
        hold(seeded, f"o{n}", (f"s{n}", seeded.window_id, 2.0))
    assert expire_due_holds(seeded.uow, now=T0 + TTL - timedelta(seconds=1)) == 0
    assert expire_due_holds(seeded.uow, now=T0 + TTL, limit=2) == 2
    assert expire_due_holds(seeded.uow, now=T0 + TTL, limit=2) == 1
    assert expire_due_holds(seeded.uow, now=T0 + TTL) == 0
    assert set(_reservations(seeded).values()) == {Status.EXPIRED}
    assert window_hours(seeded) == (0.0, 0.0, 20.0)
    assert seeded.uow.event_types().count("reservation.expired") == 3


def test_the_worker_tick_drains_every_batch(seeded: Seeded,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expiry, "EXPIRY_BATCH", 2)
    for n in range(5):
        hold(seeded, f"o{n}", (f"s{n}", seeded.window_id, 1.0))
    worker = expiry.HoldExpiry(uow_factory=lambda: seeded.uow, interval_s=60)
    assert worker.tick(now=T0 + TTL) == 5
    assert worker.tick(now=T0 + TTL) == 0


def _cancel(seeded: Seeded, order_id: str) -> None:
    payload = OrderCancelled(order_id=order_id, cluster_id="qhd-auto", buyer_firm_id="b1",
                             step_ids=[])
    envelope = new_event(payload, key="qhd-auto", producer="orders", correlation_id=order_id)
    handlers.EVENT_HANDLERS[OrderCancelled](payload, seeded.uow, envelope=envelope,
                                            hold_ttl=TTL)
    release_cancelled_order(payload, seeded.uow, envelope=envelope)  # redelivery: no effect


def test_cancellation_releases_held_and_accepted_and_refuses_later(seeded: Seeded) -> None:
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0), ("s2", seeded.window_id, 4.0))
    hold(seeded, "o2", ("s3", seeded.window_id, 1.0))
    rid = next(r.id for r in seeded.uow.committed.reservations.values() if r.step_id == "s1")
    handlers.accept_reservation(c.AcceptReservation(SUPPLIER, rid, at=T0), seeded.uow)
    _cancel(seeded, "o1")
    assert _reservations(seeded) == {"s1": Status.RELEASED, "s2": Status.RELEASED,
                                     "s3": Status.HELD}
    assert window_hours(seeded) == (1.0, 0.0, 19.0)
    assert seeded.uow.event_types().count("reservation.released") == 2
    hold(seeded, "o1", ("s1", seeded.window_id, 6.0))
    assert seeded.uow.events[-1].payload["reason"] == "order_cancelled"
    assert window_hours(seeded) == (1.0, 0.0, 19.0)
