"""A consumer without stored offsets (the orders and capacity services) outlives a broker that
restarts empty: its topics are created anew and fill again, with new events and with events
the services re-publish from their outboxes. Whatever the consumer's position was in the old
log means nothing in the new one; it must read the new log from the beginning (the inbox skips
what it applied before) — never from its old position, which would skip as many new events."""

from __future__ import annotations

import uuid

import pytest

from shared.events import encode, new_event
from shared.events.payloads import ClusterCreated
from shared.messaging.kafka import EventConsumer
from shared.messaging.producer import Producer
from sharefab_cli.stack import LocalStack, StackConfig, free_port
from tests.shared.test_kafka_replay_system import settings, wait

pytestmark = [pytest.mark.system, pytest.mark.slow]

TOPIC = "capacity.v1"
BEFORE, AFTER = 30, 45  # events before the restart, and after it (more: past the old position)


def _events(tag: str, count: int) -> list[tuple[str, str, bytes]]:
    return [(TOPIC, "one-key", encode(new_event(
        ClusterCreated(cluster_id=f"{tag}-{i}", name="c", lat=1, lon=2, max_distance_km=60),
        key="one-key", producer="test"))) for i in range(count)]


def _send(s, events: list[tuple[str, str, bytes]]) -> None:  # type: ignore[no-untyped-def]
    producer = Producer(s)  # a new one: an idempotent producer's id died with the broker
    try:
        producer.send_batch(events)
    finally:
        producer.close()


def test_a_broker_that_restarts_empty_is_read_again_from_the_beginning(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = LocalStack(StackConfig(broker_port=free_port(), var_dir=tmp_path),
                       sink=lambda name, line: None)
    stack.start_broker()
    s = settings(stack.config.bootstrap)
    applied: list[str] = []
    consumer = EventConsumer(s, group_id=f"g-{uuid.uuid4().hex[:6]}", topics=[TOPIC],
                             handler=lambda envelope, payload: applied.append(payload.cluster_id),
                             producer=Producer(s))
    consumer.start()
    try:
        _send(s, _events("old", BEFORE))
        wait(lambda: len(applied) == BEFORE)

        stack.kill("broker")
        stack.start_broker()  # same port, no topics, no offsets, no groups
        _send(s, _events("new", AFTER))  # at once: the log passes the old position at one go
        wait(lambda: {f"new-{i}" for i in range(AFTER)} <= set(applied))
        # at least once (a commit refused by the new broker re-delivers; the inbox dedups)
        assert set(applied[BEFORE:]) == {f"new-{i}" for i in range(AFTER)}
    finally:
        consumer.stop()
        stack.stop()
