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
