"""All-or-nothing holds of one order's proposed allocations."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from services.capacity.domain.holding import Ask, HoldTerms, place_holds
from services.capacity.domain.reservations import Reservation
from services.capacity.domain.windows import Window

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
TERMS = HoldTerms(order_id="o1", cluster_id="c1", match_run_id="run1", now=NOW,
                  expires_at=NOW + timedelta(hours=24))


def _windows(*specs: tuple[str, float, float]) -> dict[str, Window]:
    return {wid: Window(id=wid, machine_id="m1", factory_id="f1", cluster_id="c1", start=NOW,
                        end=NOW + timedelta(hours=48), hours=hours, held_hours=held)
            for wid, hours, held in specs}


def _ids():  # type: ignore[no-untyped-def]
    counter = itertools.count(1)
    return lambda: f"r{next(counter)}"


def test_every_allocation_that_fits_is_held() -> None:
    windows = _windows(("w1", 20.0, 0.0), ("w2", 10.0, 4.0))
    asks = [Ask("s1", "w1", 6.0, 1080.0), Ask("s2", "w2", 6.0, 900.0)]
    out = place_holds(asks, terms=TERMS, windows=windows, reserved={}, new_id=_ids())
    assert out.held and not out.refusals
    assert [(r.id, r.step_id, r.window_id, r.hours, r.price, r.status) for r in out.reservations] \
        == [("r1", "s1", "w1", 6.0, 1080.0, "held"), ("r2", "s2", "w2", 6.0, 900.0, "held")]
    assert out.reservations[0].expires_at == NOW + timedelta(hours=24)
    assert (windows["w1"].held_hours, windows["w2"].held_hours) == (6.0, 10.0)
    assert [w.id for w in out.windows] == ["w1", "w2"]


def test_one_misfit_refuses_the_whole_order_and_holds_nothing() -> None:
    windows = _windows(("w1", 20.0, 0.0), ("w2", 10.0, 6.0))
    asks = [Ask("s1", "w1", 6.0, 1.0), Ask("s2", "w2", 6.0, 1.0)]
    out = place_holds(asks, terms=TERMS, windows=windows, reserved={}, new_id=_ids())
    assert not out.held and out.reservations == [] and out.windows == []
    assert [(r.step_id, r.reason) for r in out.refusals] == [
        ("s1", "order_incomplete"),
        ("s2", "capacity_exceeded: window w2 has 4.0 h free, 6.0 h asked"),
    ]
    assert (windows["w1"].held_hours, windows["w2"].held_hours) == (0.0, 6.0)


def test_steps_on_the_same_window_add_up() -> None:
    windows = _windows(("w1", 10.0, 0.0))
    asks = [Ask("s1", "w1", 6.0, 1.0), Ask("s2", "w1", 6.0, 1.0)]
    out = place_holds(asks, terms=TERMS, windows=windows, reserved={}, new_id=_ids())
    assert [r.reason for r in out.refusals] == [
        "order_incomplete", "capacity_exceeded: window w1 has 4.0 h free, 6.0 h asked"]


def test_unknown_or_foreign_windows_are_refused() -> None:
    windows = _windows(("w1", 10.0, 0.0))
    windows["w1"].cluster_id = "elsewhere"
    asks = [Ask("s1", "w1", 1.0, 1.0), Ask("s2", "nope", 1.0, 1.0)]
    out = place_holds(asks, terms=TERMS, windows=windows, reserved={}, new_id=_ids())
    assert [r.reason for r in out.refusals] == ["unknown_window", "unknown_window"]


def test_a_step_with_an_active_reservation_is_refused() -> None:
    windows = _windows(("w1", 10.0, 0.0))
    held = Reservation(id="r0", order_id="o1", step_id="s1", window_id="w1", factory_id="f1",
                       cluster_id="c1", hours=1.0, price=1.0, expires_at=NOW, created_at=NOW)
    out = place_holds([Ask("s1", "w1", 1.0, 1.0)], terms=TERMS, windows=windows,
                      reserved={"s1": held}, new_id=_ids())
    assert out.refusals[0].reason == "already_reserved: step s1 has held reservation r0"


def test_duplicate_steps_and_non_positive_hours_are_refused() -> None:
    windows = _windows(("w1", 10.0, 0.0))
    asks = [Ask("s1", "w1", 1.0, 1.0), Ask("s1", "w1", 1.0, 1.0), Ask("s3", "w1", 0.0, 1.0)]
    out = place_holds(asks, terms=TERMS, windows=windows, reserved={}, new_id=_ids())
    assert [r.reason.split(":")[0] for r in out.refusals] == [
        "order_incomplete", "duplicate_step", "invalid_hours"]
