"""The consumer's optional rebuild features against a real broker: seeking to stored offsets
(or the beginning), replaying topics in causal order, the assignment view, and a revocation
hook when a second group member takes partitions over."""

from __future__ import annotations

import time
import uuid

import pytest

from shared.events import encode, new_event
from shared.events.payloads import ClusterCreated
from shared.messaging.kafka import EventConsumer
from shared.messaging.partitions import RecordPosition, partition_for_key
from shared.messaging.producer import Producer, ensure_topics
from shared.settings import ServiceSettings

pytestmark = [pytest.mark.system, pytest.mark.slow]


class MemoryOffsets:
    def __init__(self, stored: dict[tuple[str, int], int] | None = None) -> None:
        self.stored = dict(stored or {})

    def load(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {tp: o for tp, o in self.stored.items() if tp in set(partitions)}

    def save(self, position: RecordPosition) -> None:
        self.stored[(position.topic, position.partition)] = position.offset


def settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap_servers=bootstrap, kafka_session_timeout_ms=6000,
                           kafka_heartbeat_interval_ms=1000, kafka_max_poll_interval_ms=30000,
                           kafka_fetch_max_wait_ms=100, consumer_max_retries=1)


def key_on(partition: int, partitions: int = 2) -> str:
    return next(k for k in (f"key-{i}" for i in range(1000))
                if partition_for_key(k, partitions) == partition)


def wait(predicate, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_stored_offsets_causal_replay_and_a_takeover_by_a_second_member(kafka_broker):  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:6]
    first, second = f"t-first-{tag}", f"t-second-{tag}"
    ensure_topics([kafka_broker], partitions=2, topics=[first, second])
    s = settings(kafka_broker)
    producer = Producer(s)
    keys = [key_on(0), key_on(1)]
    records = []
    for topic in (second, first):  # effects produced before causes: the replay reorders
        for key in keys:
            for i in range(3):
                event = new_event(ClusterCreated(cluster_id=f"{topic}/{key}/{i}", name="c",
                                                 lat=1, lon=2, max_distance_km=60),
                                  key=key, producer="t")
                records.append((topic, key, encode(event)))
    producer.send_batch(records)

    group = f"replay-{tag}"
    applied: list[tuple[str, int, int]] = []
    store = MemoryOffsets({(first, 0): 1})  # offsets 0 and 1 of first/0 applied before

    def handler(envelope, payload, *, position):  # type: ignore[no-untyped-def]
        applied.append((position.topic, position.partition, position.offset))
        store.save(position)

    revoked: list[set[tuple[str, int]]] = []
    a = EventConsumer(s, group_id=group, topics=[first, second], handler=handler,
                      producer=producer, offset_store=store, replay_order=[first, second],
                      on_revoked=revoked.append)
    a.start()
    b = None
    try:
        wait(lambda: a.assignment is not None and a.assignment.caught_up
             and len(a.assignment.assigned) == 4)
        assert sorted(p for p in applied if p[0] == first) == [
            (first, 0, 2), (first, 1, 0), (first, 1, 1), (first, 1, 2)]
        assert len([p for p in applied if p[0] == second]) == 6
        last_first = max(i for i, p in enumerate(applied) if p[0] == first)
        first_second = min(i for i, p in enumerate(applied) if p[0] == second)
        assert last_first < first_second  # causes before effects
        assert a.assignment.partition_counts == {first: 2, second: 2}
        assert a.assignment.holds_key(keys[0]) and a.assignment.holds_key(keys[1])

        # A second member with no stored offsets takes half: it replays that half from the
        # beginning; the first member is told before it gives its partitions up.
        b_applied: list[tuple[str, int, int]] = []
        b = EventConsumer(s, group_id=group, topics=[first, second],
                          handler=lambda env, p, *, position: b_applied.append(
                              (position.topic, position.partition, position.offset)),
                          producer=producer, offset_store=MemoryOffsets(),
                          replay_order=[first, second])
        b.start()
        wait(lambda: b.assignment is not None and b.assignment.caught_up
             and len(b.assignment.assigned) == 2 and a.assignment is not None
             and a.assignment.caught_up and len(a.assignment.assigned) == 2)
        assert revoked and len(revoked[0]) == 4
        assert not a.assignment.assigned & b.assignment.assigned
        ((_, mine),) = {(t, p) for t, p in b.assignment.assigned if t == first}
        assert sorted(b_applied) == sorted(
            [(first, mine, o) for o in range(3)] + [(second, mine, o) for o in range(3)])
        assert b.assignment.holds_key(keys[mine]) and not a.assignment.holds_key(keys[mine])
        assert a.assignment.holds_key(keys[1 - mine])
    finally:
        a.stop()
        if b is not None:
            b.stop()
        producer.close()
