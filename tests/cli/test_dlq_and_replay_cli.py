"""Poison events of every kind land on the DLQ with their error and original bytes while the
consumer goes on; ``sharefab dlq list|replay`` and ``sharefab replay-outbox`` against a real
broker (Tansu)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from typer.testing import CliRunner

from shared.db import make_engine
from shared.events import encode, new_event
from shared.events.payloads import ClusterCreated
from shared.events.topics import MATCHING, ORDERS
from shared.messaging.kafka import EventConsumer
from shared.messaging.producer import Producer
from shared.messaging.tables import messaging_metadata, outbox
from shared.settings import ServiceSettings
from sharefab_cli.main import app

pytestmark = pytest.mark.system

runner = CliRunner()


def _settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap_servers=bootstrap, kafka_session_timeout_ms=6000,
                           kafka_heartbeat_interval_ms=1000, kafka_max_poll_interval_ms=30000,
                           kafka_fetch_max_wait_ms=100, consumer_max_retries=2)


def _cluster(name: str) -> ClusterCreated:
    return ClusterCreated(cluster_id=name, name=name, lat=1, lon=2, max_distance_km=60)


def _wait(check, what: str, timeout_s: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _ours(bootstrap: str, group: str) -> list[dict]:
    result = runner.invoke(app, ["dlq", "list", "--topic", MATCHING, "--bootstrap", bootstrap,
                                 "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [r for r in rows if r["consumer_group"] == group]


def test_every_kind_of_poison_is_dead_lettered_listed_and_replayed(kafka_broker):
    settings = _settings(kafka_broker)
    producer = Producer(settings)
    tag = uuid.uuid4().hex[:6]
    fixed = {"done": False}
    applied: dict[str, int] = {}  # event id → times applied (an inbox would refuse a repeat)

    def handler(envelope, payload):  # type: ignore[no-untyped-def]
        if payload.name == "needs-fix" and not fixed["done"]:
            raise RuntimeError("no handler for this cluster yet")
        if str(envelope.event_id) in applied:
            return
        applied[str(envelope.event_id)] = applied.get(str(envelope.event_id), 0) + 1

    group = f"dlq-{tag}"
    consumer = EventConsumer(settings, group_id=group, topics=[MATCHING], handler=handler,
                             producer=producer)
    good = new_event(_cluster(f"ok-{tag}"), key="k", producer="t")
    needs_fix = new_event(_cluster("needs-fix"), key="k", producer="t")
    base = json.loads(encode(good))
    unknown_type = dict(base, event_id=str(uuid.uuid4()), type="cluster.exploded")
    unknown_version = dict(base, event_id=str(uuid.uuid4()), version=42)
    invalid_payload = dict(base, event_id=str(uuid.uuid4()),
                           payload={**base["payload"], "lat": "north-ish"})
    poison = {
        "bad JSON": b'{"event_id": "abc", not json',
        "unknown type": json.dumps(unknown_type).encode(),
        "unknown version": json.dumps(unknown_version).encode(),
        "invalid payload": json.dumps(invalid_payload).encode(),
        "handler error": encode(needs_fix),
    }
    producer.send_batch([(MATCHING, "k", raw) for raw in poison.values()] +
                        [(MATCHING, "k", encode(good))])
    consumer.start()
    try:
        _wait(lambda: str(good.event_id) in applied, "the good event after the poison")
        dead = _ours(kafka_broker, group)
        assert len(dead) == 5
        by_value = {d["value"].encode(): d for d in dead}
        assert set(by_value) == set(poison.values())  # the original bytes, untouched
        errors = {kind: by_value[raw]["error"] for kind, raw in poison.items()}
        assert "not UTF-8 JSON" in errors["bad JSON"]
        assert "unknown event type 'cluster.exploded'" in errors["unknown type"]
        assert "unknown version 42 of cluster.created" in errors["unknown version"]
        assert "payload of cluster.created v1 is invalid" in errors["invalid payload"]
        assert "lat" in errors["invalid payload"]
        assert "no handler for this cluster yet" in errors["handler error"]
        assert all(d["topic"] == MATCHING for d in dead)

        # the table names every id
        table = runner.invoke(app, ["dlq", "list", "--topic", MATCHING,
                                    "--bootstrap", kafka_broker])
        assert table.exit_code == 0 and all(d["id"] in table.stdout for d in dead)

        # after the fix, replaying that one dead letter applies it
        fixed["done"] = True
        fix_id = by_value[poison["handler error"]]["id"]
        result = runner.invoke(app, ["dlq", "replay", fix_id, "--bootstrap", kafka_broker])
        assert result.exit_code == 0, result.output
        assert f"replayed {fix_id} → {MATCHING}" in result.stdout
        _wait(lambda: str(needs_fix.event_id) in applied, "the replayed event to be applied")

        # --all: the four unreadable ones come back to the DLQ; nothing is applied twice
        before = consumer.dead_lettered
        result = runner.invoke(app, ["dlq", "replay", "--all", "--topic", MATCHING,
                                     "--bootstrap", kafka_broker])
        assert result.exit_code == 0, result.output
        _wait(lambda: consumer.dead_lettered == before + 4, "the unreadable ones dead-lettered")
        _wait(lambda: len(_ours(kafka_broker, group)) == 9, "nine dead letters listed")
        assert applied == {str(good.event_id): 1, str(needs_fix.event_id): 1}
    finally:
        consumer.stop()
        producer.close()


def test_dlq_commands_fail_clearly(kafka_broker):
    result = runner.invoke(app, ["dlq", "replay", "orders.v1.dlq:0:999999",
                                 "--bootstrap", kafka_broker])
    assert result.exit_code == 2 and "no dead letter 'orders.v1.dlq:0:999999'" in result.output
    result = runner.invoke(app, ["dlq", "list", "--topic", "nope.v1", "--bootstrap", kafka_broker])
    assert result.exit_code == 2 and "unknown topic nope.v1" in result.output
    result = runner.invoke(app, ["dlq", "list", "--bootstrap", "127.0.0.1:1"])
    assert result.exit_code == 1 and "not reachable" in result.output
    assert "Traceback" not in result.output


def _read_keys(bootstrap: str, topic: str, key_prefix: str) -> list[str]:
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        keys = [r.key.decode() for r in consumer]
        return [k for k in keys if k.startswith(key_prefix)]
    finally:
        consumer.close()


def test_replay_outbox_republishes_the_rows_since_a_moment(kafka_broker, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    engine = make_engine(url)
    messaging_metadata.create_all(engine)
    tag = uuid.uuid4().hex[:6]
    since = datetime.now(UTC).replace(microsecond=0)
    rows = []
    for n in range(7):
        event = new_event(_cluster(f"c{n}"), key=f"{tag}-{n}", producer="orders")
        created = since + timedelta(minutes=n - 3)  # three before `since`, four after
        rows.append({"event_id": str(event.event_id), "topic": ORDERS, "key": event.key,
                     "type": event.type, "body": encode(event).decode(), "created_at": created,
                     "published_at": created})
    with engine.begin() as conn:
        conn.execute(sa.insert(outbox), rows)
    engine.dispose()
    monkeypatch.setenv("ORDERS_DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_broker)

    result = runner.invoke(app, ["replay-outbox", "--service", "orders",
                                 "--since", since.isoformat().replace("+00:00", "Z")])
    assert result.exit_code == 0, result.output
    assert "orders" in result.stdout and " 4 " in result.stdout
    assert sorted(_read_keys(kafka_broker, ORDERS, tag)) == [f"{tag}-{n}" for n in range(3, 7)]

    bad = runner.invoke(app, ["replay-outbox", "--since", "yesterday"])
    assert bad.exit_code == 2 and "not an ISO-8601 time" in bad.output
    bad = runner.invoke(app, ["replay-outbox", "--since", since.isoformat(), "--service", "x"])
    assert bad.exit_code == 2 and "unknown service 'x'" in bad.output
