"""The consumer loop against a real Kafka-protocol broker: apply, retry, dead-letter."""

import json
import time
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from shared.events import encode, new_event
from shared.events.payloads import ClusterCreated
from shared.messaging.kafka import EventConsumer
from shared.messaging.producer import Producer, ensure_topics
from shared.settings import ServiceSettings
from sharefab_cli.stack import wait_until

pytestmark = pytest.mark.system


def _settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap_servers=bootstrap, kafka_session_timeout_ms=6000,
                           kafka_heartbeat_interval_ms=1000, kafka_max_poll_interval_ms=30000,
                           kafka_fetch_max_wait_ms=100, consumer_max_retries=2)


def _dlq_messages(bootstrap: str, expected: int, timeout_s: float = 20.0) -> list:
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    partitions = [TopicPartition("capacity.v1.dlq", p)
                  for p in consumer.partitions_for_topic("capacity.v1.dlq")]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    found = []
    deadline = time.monotonic() + timeout_s
    while len(found) < expected and time.monotonic() < deadline:
        for records in consumer.poll(500).values():
            found.extend(records)
    consumer.close()
    return found


def test_ensure_topics_is_idempotent(kafka_broker):
    assert ensure_topics([kafka_broker], partitions=6) == []


def test_consumer_applies_good_events_and_dead_letters_poison(kafka_broker):
    settings = _settings(kafka_broker)
    producer = Producer(settings)
    applied: list[str] = []

    def handler(envelope, payload):
        if payload.name == "explode":
            raise RuntimeError("cannot apply")
        applied.append(payload.cluster_id)

    group = f"test-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(settings, group_id=group, topics=["capacity.v1"], handler=handler,
                             producer=producer)
    tag = uuid.uuid4().hex[:6]
    good = new_event(ClusterCreated(cluster_id=f"ok-{tag}", name="ok", lat=1, lon=2,
                                    max_distance_km=60), key="k", producer="t")
    failing = new_event(ClusterCreated(cluster_id=f"bad-{tag}", name="explode", lat=1, lon=2,
                                       max_distance_km=60), key="k", producer="t")
    unknown = json.loads(encode(good))
    unknown.update(event_id=str(uuid.uuid4()), version=42)
    poison = [b"{not json", json.dumps(unknown).encode(), encode(failing)]
    producer.send_batch([("capacity.v1", "k", raw) for raw in poison] +
                        [("capacity.v1", "k", encode(good))])
    consumer.start()
    try:
        deadline = time.monotonic() + 30
        while f"ok-{tag}" not in applied and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"ok-{tag}" in applied
    finally:
        consumer.stop()
        producer.close()
    dead = _dlq_messages(kafka_broker, expected=3)
    ours = [m for m in dead if dict(m.headers).get("consumer_group") == group.encode()]
    assert sorted(m.value for m in ours) == sorted(poison)
    errors = {m.value: dict(m.headers)["error"].decode() for m in ours}
    assert "not UTF-8 JSON" in errors[b"{not json"]
    assert "unknown version 42" in errors[poison[1]]
    assert "cannot apply" in errors[poison[2]]
    assert consumer.dead_lettered == 3


def _committed(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=group,
                             enable_auto_commit=False)
    try:
        return consumer.committed(tp)
    finally:
        consumer.close(autocommit=False)


def test_offsets_are_committed_at_most_every_interval_and_when_the_consumer_stops(kafka_broker):
    """With a long interval the first applied record is committed at once, later ones wait;
    stopping commits them, so the group's next member starts after them."""
    settings = _settings(kafka_broker).model_copy(update={"kafka_commit_interval_ms": 60_000})
    producer = Producer(settings)
    group, tag = f"test-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:6]
    names = {n: f"{n}-{tag}" for n in "abcd"}
    tp = TopicPartition(f"commits-{tag}", 0)  # a topic of its own: no other test's records
    ensure_topics([kafka_broker], partitions=1, topics=[tp.topic])

    def event(name: str) -> tuple[str, str, bytes]:
        return (tp.topic, tag, encode(new_event(ClusterCreated(
            cluster_id=name, name=name, lat=1, lon=2, max_distance_km=60), key=tag,
            producer="t")))

    def member(applied: list[str]) -> EventConsumer:
        return EventConsumer(settings, group_id=group, topics=[tp.topic], producer=producer,
                             handler=lambda envelope, payload: applied.append(payload.cluster_id))

    first: list[str] = []
    consumer = member(first)
    try:
        producer.send_batch([event(names["a"])])
        consumer.start()
        # the first applied record: committed at once
        wait_until(lambda: consumer.commits == 1, timeout_s=30, what="the first commit")
        assert first == [names["a"]]
        assert _committed(kafka_broker, group, tp) == 1
        producer.send_batch([event(names["b"]), event(names["c"])])
        wait_until(lambda: len(first) == 3, timeout_s=30, what="b and c applied")
        time.sleep(0.5)  # a few more polls
        assert consumer.commits == 1
        assert _committed(kafka_broker, group, tp) == 1
    finally:
        consumer.stop()
    assert consumer.commits == 2
    assert _committed(kafka_broker, group, tp) == 3

    second: list[str] = []
    consumer = member(second)
    try:
        producer.send_batch([event(names["d"])])
        consumer.start()
        wait_until(lambda: len(second) == 1, timeout_s=30, what="d applied")
    finally:
        consumer.stop()
        producer.close()
    assert second == [names["d"]]  # nothing the first member applied came again
