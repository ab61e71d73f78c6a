"""The consumer's catch-up bookkeeping after an assignment, against a stand-in KafkaConsumer:
seeking to stored offsets, resuming topics in replay order, and when a partition is ready."""

from __future__ import annotations

from kafka.structs import TopicPartition

from shared.messaging.kafka import MAX_POLL_RECORDS, EventConsumer
from shared.messaging.partitions import RecordPosition
from shared.settings import ServiceSettings

ORDERS, CAPACITY = "orders.v1", "capacity.v1"


class StandIn:
    """Positions, end offsets, pauses: what the consumer asks of kafka-python."""

    def __init__(self, ends: dict[TopicPartition, int]) -> None:
        self.ends = ends
        self.positions: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    def seek_to_beginning(self, *tps: TopicPartition) -> None:
        for tp in tps:
            self.positions[tp] = 0

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp] for tp in tps}

    def pause(self, *tps: TopicPartition) -> None:
        self.paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused -= set(tps)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1}


class Stored:
    def __init__(self, offsets: dict[tuple[str, int], int]) -> None:
        self.offsets = offsets

    def load(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {tp: o for tp, o in self.offsets.items() if tp in partitions}

    def save(self, position: RecordPosition) -> None:
        self.offsets[(position.topic, position.partition)] = position.offset


def consumer_with(stand_in: StandIn, stored: dict[tuple[str, int], int]) -> EventConsumer:
    c = EventConsumer(ServiceSettings(), group_id="g", topics=[CAPACITY, ORDERS],
                      handler=lambda *a, **k: None, producer=None,  # type: ignore[arg-type]
                      offset_store=Stored(stored), replay_order=[ORDERS, CAPACITY])
    c._consumer = stand_in  # type: ignore[assignment]
    return c


TPS = [TopicPartition(t, p) for t in (ORDERS, CAPACITY) for p in (0, 1)]


def test_assignment_seeks_to_stored_offsets_and_replays_orders_before_capacity() -> None:
    s = StandIn(dict.fromkeys(TPS, 10))
    c = consumer_with(s, {(ORDERS, 0): 9, (CAPACITY, 0): 4})
    c._assigned(TPS)
    assert s.positions == {TopicPartition(ORDERS, 0): 10, TopicPartition(ORDERS, 1): 0,
                           TopicPartition(CAPACITY, 0): 5, TopicPartition(CAPACITY, 1): 0}
    assert s.paused == set(TPS) and c.assignment is not None and not c.assignment.ready

    c._catch_up(s, 0)  # end offsets learnt: orders may fetch, capacity waits
    assert s.paused == {TopicPartition(CAPACITY, 0), TopicPartition(CAPACITY, 1)}
    assert c.assignment.ready == {(ORDERS, 0)}  # orders.v1[1] lags; capacity still paused

    assert not c.joined  # /readyz says "joining" until every partition caught up
    s.positions[TopicPartition(ORDERS, 1)] = 10
    c._catch_up(s, MAX_POLL_RECORDS)  # a poll cut short: the batch may go on
    assert s.paused == {TopicPartition(CAPACITY, 0), TopicPartition(CAPACITY, 1)}
    c._catch_up(s, 3)
    assert s.paused == set()
    assert c.assignment.ready == {(ORDERS, 0), (ORDERS, 1)}

    s.positions[TopicPartition(CAPACITY, 0)] = 10
    s.positions[TopicPartition(CAPACITY, 1)] = 10
    c._catch_up(s, 7)
    assert c.assignment.caught_up and c.assignment.partition_counts == {CAPACITY: 2, ORDERS: 2}
    assert c.joined


def test_a_revocation_withdraws_every_partition_and_tells_the_hook() -> None:
    s = StandIn(dict.fromkeys(TPS, 0))
    told: list[set[tuple[str, int]]] = []
    c = consumer_with(s, {})
    c._on_revoked = told.append
    c._assigned(TPS)
    c._catch_up(s, 0)
    assert c.assignment is not None and c.assignment.caught_up  # empty topics: ready at once
    c._revoked(TPS[:2])
    assert c.assignment is None and told == [{(ORDERS, 0), (ORDERS, 1)}]
    assert c.joined  # a later rebalance does not make the service unready
