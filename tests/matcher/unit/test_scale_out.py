"""Scale-out pieces without a broker: the key → partition mapping, ownership of a cluster,
the planning loop's ownership filter and max-steps wake-up, the matching topic's events from
another instance, and offsets stored with the effect."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from kafka.partitioner.default import DefaultPartitioner

from services.matcher.domain.readmodel import HELD, PENDING, PROPOSED, UNPLACED
from services.matcher.domain.runs import BATCH_FULL, INTERVAL
from services.matcher.entrypoints.consumer import make_event_handler
from services.matcher.entrypoints.planner import PlanningLoop, flush_outbox, partition_owner
from services.matcher.service_layer import planning
from services.matcher.service_layer.handlers import handle_event
from shared.events import payloads as ev
from shared.messaging.partitions import Assignment, RecordPosition, partition_for_key
from tests.matcher import events as e
from tests.matcher.unit.conftest import OPTIONS, feed
from tests.matcher.unit.fakes import FakeUnitOfWork

TOPICS = ("capacity.v1", "orders.v1", "matching.v1")


class _Metadata:
    """The slice of kafka-python's ClusterMetadata the default partitioner reads."""

    def __init__(self, partitions: int) -> None:
        self._partitions = set(range(partitions))

    def topics(self) -> set[str]:
        return {"orders.v1"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions


@pytest.mark.parametrize("partitions", [1, 3, 6, 12])
def test_a_key_maps_to_the_partition_kafka_pythons_producer_chooses(partitions: int) -> None:
    meta = _Metadata(partitions)
    keys = ["qhd-auto", "saga-cluster", "so-0", "", "集群-1"] + [f"c{i}" for i in range(300)]
    for key in keys:
        raw = key.encode("utf-8")
        expected = DefaultPartitioner().partition("orders.v1", key, raw, None, None, meta)
        assert partition_for_key(key, partitions) == expected


def test_a_key_stays_on_one_partition_number_across_topics_of_equal_size() -> None:
    spread = {partition_for_key(f"cluster-{i}", 6) for i in range(100)}
    assert spread == set(range(6))  # and the mapping does not depend on the topic at all


def assignment(ready_partitions: set[int], *, assigned: set[int] | None = None,
               counts: int = 6) -> Assignment:
    def parts(ps: set[int]) -> frozenset[tuple[str, int]]:
        return frozenset((t, p) for t in TOPICS for p in ps)

    return Assignment(assigned=parts(assigned if assigned is not None else ready_partitions),
                      ready=parts(ready_partitions),
                      partition_counts=dict.fromkeys(TOPICS, counts) if counts else {})


def test_a_cluster_is_held_only_when_its_partition_is_ready_in_every_topic() -> None:
    p = partition_for_key("qhd-auto", 6)
    assert assignment({p}).holds_key("qhd-auto")
    assert not assignment(set(range(6)) - {p}).holds_key("qhd-auto")
    catching_up = assignment(set(), assigned={p})
    assert not catching_up.holds_key("qhd-auto") and not catching_up.caught_up
    one_topic_missing = Assignment(
        assigned=frozenset({("orders.v1", p), ("capacity.v1", p), ("matching.v1", p)}),
        ready=frozenset({("orders.v1", p), ("capacity.v1", p)}),
        partition_counts=dict.fromkeys(TOPICS, 6))
    assert not one_topic_missing.holds_key("qhd-auto")
    assert not assignment({p}, counts=0).holds_key("qhd-auto")  # partition counts unknown


@dataclass
class _Consumer:
    assignment: Assignment | None


def test_ownership_follows_the_consumer_and_without_one_every_cluster_is_ours() -> None:
    p = partition_for_key("qhd-auto", 6)
    assert partition_owner(lambda: None)("qhd-auto")
    assert not partition_owner(lambda: _Consumer(None))("qhd-auto")  # before the first join
    assert partition_owner(lambda: _Consumer(assignment({p})))("qhd-auto")
    assert not partition_owner(lambda: _Consumer(assignment({(p + 1) % 6})))("qhd-auto")


# -- the planning loop ------------------------------------------------------------------------

OTHER = "other-cluster"


def two_clusters() -> FakeUnitOfWork:
    """qhd-auto and another cluster, each with capacity and one pending order."""
    t0 = e.default_t0()
    uow = FakeUnitOfWork()
    feed(uow, *e.walkthrough(t0))
    feed(uow, *[p.model_copy(update={"cluster_id": OTHER, **ids}) for p, ids in [
        (e.cluster_created(OTHER), {}),
        (e.factory(factory_id="fac-9", verified_tier="advanced"), {}),
        (e.machine_added("mch-9", factory_id="fac-9"), {}),
        (e.window_opened(t0, "win-9", machine_id="mch-9", factory_id="fac-9"), {}),
        (e.order_submitted(t0, "ord-9"), {})]])
    return uow


def loop(uow: FakeUnitOfWork, *, owns=None, max_steps: int = 500,  # type: ignore[no-untyped-def]
         full_batch: int = 100, interval_s: float = 60.0) -> PlanningLoop:
    options = planning.PlanningOptions(params=OPTIONS.params, max_steps=max_steps,
                                       full_batch_steps=full_batch)
    return PlanningLoop(uow_factory=lambda: uow, options=options, interval_s=interval_s,
                        owns=owns)


def planned_clusters(uow: FakeUnitOfWork) -> list[str]:
    return sorted(r.cluster_id for r, _, _ in uow.runs.runs.values())


def test_the_loop_plans_only_the_clusters_this_instance_owns() -> None:
    uow = two_clusters()
    assert loop(uow, owns=lambda cid: cid == OTHER).tick() == 1
    assert planned_clusters(uow) == [OTHER]
    assert uow.read_model.steps["stp-1"].status == PENDING  # qhd-auto left to its owner
    assert uow.read_model.steps["stp-9"].status == PROPOSED


def test_the_loop_plans_every_cluster_without_an_ownership_rule() -> None:
    uow = two_clusters()
    assert loop(uow).tick() == 2
    assert planned_clusters(uow) == [OTHER, e.CLUSTER]


def test_a_nudge_plans_a_cluster_at_once_when_a_full_batch_waits() -> None:
    uow = two_clusters()
    planner = loop(uow, full_batch=2)
    planner.nudge(e.CLUSTER)
    assert planner.plan_full_batches() == 0  # one pending step: the interval will do
    feed(uow, e.order_submitted(e.default_t0(), "ord-2"))
    planner.nudge(e.CLUSTER)
    planner.nudge(OTHER)  # one pending step there: not due
    assert planner.plan_full_batches() == 1
    (run,) = [r for r, _, _ in uow.runs.runs.values()]
    assert (run.cluster_id, run.trigger, run.placed_steps) == (e.CLUSTER, BATCH_FULL, 2)
    assert planner.plan_full_batches() == 0  # nudges are consumed


def test_a_run_loads_only_the_orders_of_its_batch() -> None:
    uow = two_clusters()
    feed(uow, *[e.order_submitted(e.default_t0(), oid) for oid in ("ord-2", "ord-3")])
    asked: list[list[str] | None] = []
    real = uow.read_model.snapshot
    uow.read_model.snapshot = lambda cid, **kw: (  # type: ignore[method-assign]
        asked.append(kw.get("order_ids")), real(cid, **kw))[1]
    assert loop(uow, max_steps=2).tick() == 2
    assert sorted(asked, key=len) == [["ord-9"], ["ord-1", "ord-2"]]  # ord-3 waits
    assert uow.read_model.steps["stp-3"].status == PENDING


def test_a_full_batch_of_a_cluster_owned_elsewhere_is_left_alone() -> None:
    uow = two_clusters()
    feed(uow, e.order_submitted(e.default_t0(), "ord-2"))
    planner = loop(uow, full_batch=2, owns=lambda cid: cid == OTHER)
    planner.nudge(e.CLUSTER)
    assert planner.plan_full_batches() == 0


def test_the_running_loop_wakes_on_a_full_batch_long_before_the_interval() -> None:
    uow = two_clusters()
    planner = loop(uow, full_batch=2, interval_s=3600)
    handler = make_event_handler(lambda: uow, on_applied=planner.nudge)
    planner.start()
    try:
        handler(*e.envelope(e.order_submitted(e.default_t0(), "ord-2")))
        deadline = time.monotonic() + 5
        while not uow.runs.runs and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        planner.stop()
    assert [(r.cluster_id, r.trigger) for r, _, _ in uow.runs.runs.values()] == [
        (e.CLUSTER, BATCH_FULL)]


def test_the_interval_still_plans_a_cluster_below_the_batch_size() -> None:
    uow = two_clusters()
    planner = loop(uow, interval_s=0.05, owns=lambda cid: cid == e.CLUSTER)
    planner.start()
    try:
        deadline = time.monotonic() + 5
        while not uow.runs.runs and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        planner.stop()
    assert [(r.cluster_id, r.trigger) for r, _, _ in uow.runs.runs.values()] == [
        (e.CLUSTER, INTERVAL)]


def test_quiesce_waits_for_the_run_in_progress() -> None:
    planner = loop(FakeUnitOfWork())
    planner._running.acquire()
    released = threading.Timer(0.2, planner._running.release)
    released.start()
    clock = time.monotonic()
    assert planner.quiesce(timeout_s=5)
    assert time.monotonic() - clock >= 0.15
    planner._running.acquire()
    assert not planner.quiesce(timeout_s=0.05)
    planner._running.release()


def test_flush_outbox_wakes_the_relay_until_nothing_is_unpublished() -> None:
    left = [3]
    wakes = []

    def wake() -> None:
        wakes.append(1)
        left[0] -= 1

    assert flush_outbox(lambda: left[0], wake, timeout_s=5)
    assert len(wakes) == 3
    assert not flush_outbox(lambda: 1, lambda: None, timeout_s=0.1)


# -- matching.v1 from another instance ----------------------------------------------------------

def proposed(step_id: str = "stp-1", *, run_id: str = "run_other", window_id: str = "win-1",
             order_id: str = "ord-1") -> ev.AllocationProposed:
    return ev.AllocationProposed(
        match_run_id=run_id, cluster_id=e.CLUSTER, order_id=order_id,
        allocations=[ev.ProposedAllocation(step_id=step_id, window_id=window_id,
                                           machine_id="mch-1", factory_id="fac-1", hours=6.0,
                                           price=1085.58, transport_km=3.2)])


def unplaced(step_id: str = "stp-1", *, run_id: str = "run_other") -> ev.StepUnplaced:
    return ev.StepUnplaced(match_run_id=run_id, cluster_id=e.CLUSTER, order_id="ord-1",
                           step_id=step_id, reason="capacity_taken", detail="window full")


def test_another_instances_proposal_pins_the_step_and_uses_the_windows_hours(uow) -> None:  # type: ignore[no-untyped-def]
    feed(uow, proposed())
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.window_id, step.match_run_id) == (PROPOSED, "win-1", "run_other")
    snap = uow.read_model.snapshot(e.CLUSTER, now=e.default_t0(), order_ids=["ord-1"])
    assert {w.id: w.free_hours for w in snap.windows} == {"win-1": 14.0}
    assert uow.read_model.clusters_with_pending() == []  # nothing left to plan twice


def test_a_proposal_of_this_instances_own_run_changes_nothing(uow) -> None:  # type: ignore[no-untyped-def]
    from tests.matcher.unit.conftest import plan

    run = plan(uow)
    own = next(env for env in uow.published if env.type == "allocation.proposed")
    feed(uow, e.rejected(run_id=run.id))  # capacity said no before the event came back
    assert handle_event(own, own.parsed(), uow=uow)
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.excluded_windows) == (PENDING, ["win-1"])  # re-planned later


def test_a_later_proposal_replaces_an_earlier_one_and_later_states_stay(uow) -> None:  # type: ignore[no-untyped-def]
    feed(uow, proposed(run_id="run_a"), proposed(run_id="run_b", window_id="win-2"))
    step = uow.read_model.steps["stp-1"]
    assert (step.window_id, step.match_run_id) == ("win-2", "run_b")
    feed(uow, e.rejected(run_id="run_a"))  # the earlier proposal's answer: no effect now
    assert uow.read_model.steps["stp-1"].status == PROPOSED
    feed(uow, e.held(window_id="win-2"), proposed(run_id="run_c", window_id="win-1"))
    assert uow.read_model.steps["stp-1"].status == HELD  # held work is never moved


def test_another_instances_unplaced_step_waits_for_capacity(uow) -> None:  # type: ignore[no-untyped-def]
    feed(uow, unplaced())
    step = uow.read_model.steps["stp-1"]
    assert (step.status, step.reason) == (UNPLACED, "capacity_taken")
    feed(uow, e.window_opened(e.default_t0(), "win-2"))
    assert uow.read_model.steps["stp-1"].status == PENDING


def test_the_offset_is_stored_with_the_effect_and_for_ignored_or_repeated_events(uow) -> None:  # type: ignore[no-untyped-def]
    env, payload = e.envelope(e.order_submitted(e.default_t0(), "ord-2"))
    at = RecordPosition("orders.v1", 3, 41)
    assert handle_event(env, payload, uow=uow, position=at)
    assert uow.offsets.load([("orders.v1", 3)]) == {("orders.v1", 3): 41}
    assert not handle_event(env, payload, uow=uow, position=RecordPosition("orders.v1", 3, 42))
    done = ev.MatchRunCompleted(match_run_id="r", cluster_id=e.CLUSTER, trigger="interval",
                                status="feasible", placed_steps=0, unplaced_steps=0,
                                objective=None, wall_s=0.0)
    assert not handle_event(*e.envelope(done), uow=uow,
                            position=RecordPosition("matching.v1", 0, 7))
    assert uow.offsets.load([("orders.v1", 3), ("matching.v1", 0), ("capacity.v1", 0)]) == {
        ("orders.v1", 3): 42, ("matching.v1", 0): 7}
