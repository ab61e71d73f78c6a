"""The step state machine, and how the read model becomes a planning instance."""

import pytest

from services.matcher.domain.model import Parameters
from services.matcher.domain.readmodel import (
    ACCEPTED,
    CANCELLED,
    HELD,
    PENDING,
    PROPOSED,
    UNPLACED,
    ClusterSnapshot,
    FactoryRecord,
    MachineRecord,
    OrderRecord,
    QueuedOrder,
    StepState,
    StepStateError,
    WindowRecord,
    build_instance,
    select_batch,
)
from tests.matcher.unit.builders import h


def new_step(sid="s1", order_id="o1", **kw):  # type: ignore[no-untyped-def]
    return StepState(id=sid, order_id=order_id, cluster_id="c", process="cnc_milling",
                     hours=6.0, **kw)


def test_a_step_goes_pending_proposed_held_accepted():
    s = new_step()
    s.propose(window_id="w1", price=100.0, transport_km=2.0, run_id="r1")
    assert (s.status, s.window_id, s.match_run_id) == (PROPOSED, "w1", "r1")
    s.hold(window_id="w1", price=100.0)
    assert s.status == HELD
    s.accept(window_id="w1", price=100.0)
    assert s.status == ACCEPTED
    s.hold(window_id="w1", price=100.0)  # a late held changes nothing after acceptance
    assert s.status == ACCEPTED


def test_only_open_steps_can_be_proposed_or_unplaced():
    s = new_step(status=HELD, window_id="w1")
    with pytest.raises(StepStateError):
        s.propose(window_id="w2", price=1.0, transport_km=0.0, run_id="r")
    with pytest.raises(StepStateError):
        s.mark_unplaced(reason="x", detail="", run_id="r")


def test_release_sends_the_step_back_and_excludes_the_window():
    s = new_step(status=PROPOSED, window_id="w1", price=9.0, match_run_id="r1")
    assert s.release(window_id="w1", run_id="r1") is True
    assert (s.status, s.window_id, s.price, s.excluded_windows) == (PENDING, None, None, ["w1"])


def test_a_stale_release_only_excludes_the_window():
    s = new_step(status=PROPOSED, window_id="w2", match_run_id="r2")
    assert s.release(window_id="w1", run_id="r1") is False
    assert (s.status, s.window_id, s.excluded_windows) == (PROPOSED, "w2", ["w1"])
    s = new_step(status=PROPOSED, window_id="w1", match_run_id="r2")
    assert s.release(window_id="w1", run_id="r1") is False  # an older run's rejection
    assert s.status == PROPOSED


def test_reopen_only_touches_unplaced_steps():
    s = new_step(status=UNPLACED, reason="capacity_taken", detail="...")
    assert s.reopen() is True and s.status == PENDING
    assert new_step(status=HELD).reopen() is False


@pytest.mark.parametrize("status", [PENDING, PROPOSED, HELD, ACCEPTED, UNPLACED])
def test_every_status_but_cancelled_can_be_cancelled_and_gives_up_its_window(status):  # type: ignore[no-untyped-def]
    s = new_step(status=status, window_id="w1" if status in (PROPOSED, HELD, ACCEPTED) else None,
                 price=9.0, reason="capacity_taken" if status == UNPLACED else None)
    assert s.cancel(detail="the order was cancelled") is True
    assert (s.status, s.window_id, s.price, s.reason) == (CANCELLED, None, None, None)
    assert s.detail == "the order was cancelled"
    assert s.cancel(detail="again") is False and s.detail == "the order was cancelled"


def test_a_cancelled_step_ignores_every_later_transition():
    s = new_step(status=CANCELLED, excluded_windows=[])
    s.hold(window_id="w1", price=1.0)
    s.accept(window_id="w1", price=1.0)
    assert s.release(window_id="w1") is False
    s.withdraw()
    assert s.reopen() is False
    assert (s.status, s.window_id, s.excluded_windows) == (CANCELLED, None, [])
    with pytest.raises(StepStateError):
        s.propose(window_id="w1", price=1.0, transport_km=0.0, run_id="r")
    with pytest.raises(StepStateError):
        s.mark_unplaced(reason="x", detail="", run_id="r")


def test_a_window_offers_more_with_more_hours_or_a_later_end():
    w = WindowRecord(id="w1", machine_id="m1", factory_id="f1", cluster_id="c", start=h(0),
                     end=h(48), hours=20, used_hours=6)

    def changed(**kw):  # type: ignore[no-untyped-def]
        return WindowRecord(**{**w.__dict__, **kw})
    assert changed(hours=21).offers_more_than(w)
    assert changed(end=h(49)).offers_more_than(w)
    assert changed(hours=8, end=h(60)).offers_more_than(w)
    assert not changed(hours=20, start=h(-5)).offers_more_than(w)  # the start plays no part
    assert not changed(hours=10, end=h(40)).offers_more_than(w)
    assert changed(hours=10).free_hours == 4


def snapshot():  # type: ignore[no-untyped-def]
    return ClusterSnapshot(
        cluster_id="c",
        factories=[FactoryRecord(id="f1", firm_id="x", cluster_id="c", name="F", lat=1, lon=2,
                                 declared_tier="leading", verified_tier=None, sme=False),
                   FactoryRecord(id="f2", firm_id="y", cluster_id="c", name="G", lat=1, lon=2,
                                 declared_tier="basic", verified_tier="excellent", sme=True)],
        machines=[MachineRecord(id="m1", factory_id="f1", cluster_id="c", name="M",
                                process="cnc_milling", materials=("steel",), hourly_rate=10)],
        windows=[WindowRecord(id="w1", machine_id="m1", factory_id="f1", cluster_id="c",
                              start=h(0), end=h(48), hours=20, used_hours=6)],
        orders=[OrderRecord(id="o1", buyer_firm_id="b", cluster_id="c", title="t",
                            delivery_lat=1, delivery_lon=2, due=h(100))],
        steps=[new_step("s2", position=1, after=["s1"]),
               new_step("s1", position=0, status=HELD, window_id="w1", excluded_windows=["w9"])])


def test_build_instance_uses_verified_tiers_free_hours_and_pins_placed_steps():
    inst = build_instance(snapshot(), params=Parameters(), now=h(0))
    assert {f.id: f.tier for f in inst.factories} == {"f1": "basic", "f2": "excellent"}
    (w,) = inst.windows
    assert (w.hours, w.offered) == (14, 20)
    (o,) = inst.orders
    assert [s.id for s in o.steps] == ["s1", "s2"]
    assert o.steps[0].pinned_window == "w1" and o.steps[0].excluded_windows == {"w9"}
    assert o.steps[1].pinned_window is None and o.steps[1].after == ("s1",)
    assert [s.id for s in o.free_steps] == ["s2"]


def test_build_instance_leaves_cancelled_steps_out():
    snap = snapshot()
    snap.steps.append(new_step("s3", position=2, status=CANCELLED))
    (o,) = build_instance(snap, params=Parameters(), now=h(0)).orders
    assert [s.id for s in o.steps] == ["s1", "s2"]


def test_select_batch_takes_orders_by_priority_and_due_until_the_batch_is_full():
    queue = [QueuedOrder("a", 1, h(10), 1), QueuedOrder("b", 5, h(50), 3),
             QueuedOrder("c", 5, h(20), 2), QueuedOrder("d", 1, h(5), 2)]
    assert select_batch(queue, 5) == ["c", "b"]
    assert select_batch(queue, 6) == ["c", "b", "a"]
    assert select_batch(queue, 1) == ["c"]  # the first always fits
