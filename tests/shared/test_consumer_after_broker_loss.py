"""A consumer with stored offsets meets a broker that lost its logs: topics with a new id (created
anew) have their stored offsets forgotten and are read from the beginning; the inbox skips
what was applied before."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

from kafka.structs import TopicPartition

from tests.shared.test_kafka_catch_up import CAPACITY, ORDERS, TPS, StandIn, Stored, consumer_with


class StoredWithIds(Stored):
    def __init__(self, offsets: dict[tuple[str, int], int], ids: dict[str, str]) -> None:
        super().__init__(offsets)
        self.ids = ids

    def check_topic_ids(self, current: Mapping[str, str]) -> set[str]:
        recreated = {t for t, i in current.items() if t in self.ids and self.ids[t] != i}
        self.offsets = {tp: o for tp, o in self.offsets.items() if tp[0] not in recreated}
        self.ids.update(current)
        return recreated


def test_a_recreated_topic_is_read_from_the_beginning() -> None:
    s = StandIn(dict.fromkeys(TPS, 10))
    s._client = SimpleNamespace(cluster=SimpleNamespace(  # type: ignore[attr-defined]
        topic_id={ORDERS: "orders-new", CAPACITY: "capacity-same"}.get))
    c = consumer_with(s, {})
    store = StoredWithIds({(ORDERS, 0): 41, (ORDERS, 1): 9, (CAPACITY, 0): 4},
                          {ORDERS: "orders-old", CAPACITY: "capacity-same"})
    c._offset_store = store
    c._assigned(TPS)
    assert s.positions == {TopicPartition(ORDERS, 0): 0, TopicPartition(ORDERS, 1): 0,
                           TopicPartition(CAPACITY, 0): 5, TopicPartition(CAPACITY, 1): 0}
    assert store.ids == {ORDERS: "orders-new", CAPACITY: "capacity-same"}
