"""Transient database errors: classified from real SQLite errors, answered with 503 +
Retry-After by the API, and retried without limit (never dead-lettered) by the consumer."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kafka.structs import TopicPartition

from shared.events import encode, new_event
from shared.events.payloads import ClusterCreated
from shared.messaging.kafka import EventConsumer
from shared.problems import install_problem_handlers
from shared.settings import ServiceSettings
from shared.transient import RETRY_AFTER_S, is_transient_db_error


def _locked_error(tmp_path) -> sa.exc.OperationalError:  # type: ignore[no-untyped-def]
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    try:
        with pytest.raises(sa.exc.OperationalError) as caught, engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        return caught.value
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def _no_such_table(tmp_path) -> sa.exc.OperationalError:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(sa.exc.OperationalError) as caught, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM nowhere"))
    engine.dispose()
    return caught.value


def _refused() -> sa.exc.OperationalError:
    from sharefab_cli.stack import free_port

    engine = sa.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x?connect_timeout=2")
    with pytest.raises(sa.exc.OperationalError) as caught, engine.connect():
        pass
    return caught.value


def test_classification(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert is_transient_db_error(_locked_error(tmp_path))
    assert is_transient_db_error(_refused())
    assert not is_transient_db_error(_no_such_table(tmp_path))
    assert not is_transient_db_error(sa.exc.IntegrityError("INSERT", {}, Exception("unique")))
    assert not is_transient_db_error(ValueError("bad payload"))
    wrapped = RuntimeError("handler failed")
    wrapped.__cause__ = _refused()
    assert is_transient_db_error(wrapped)


def test_api_answers_503_with_retry_after_only_for_transient_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = FastAPI()
    install_problem_handlers(app)
    locked, missing = _locked_error(tmp_path), _no_such_table(tmp_path)

    @app.get("/locked")
    def locked_route() -> None:
        raise locked

    @app.get("/missing")
    def missing_route() -> None:
        raise missing

    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/locked")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.json()["title"] == "Service unavailable"
    response = client.get("/missing")
    assert response.status_code == 500 and "retry-after" not in response.headers


class _StandInConsumer:
    def __init__(self) -> None:
        self.seeks: dict[TopicPartition, int] = {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def send(self, topic, key, value, headers=None) -> None:  # type: ignore[no-untyped-def]
        self.sent.append((topic, key, value, dict(headers or [])))


def _record(tp: TopicPartition, offset: int, value: bytes) -> SimpleNamespace:
    return SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset, key=b"k",
                           value=value)


def _event(name: str) -> bytes:
    return encode(new_event(ClusterCreated(cluster_id=name, name=name, lat=1, lon=2,
                                           max_distance_km=60), key="k", producer="t"))


def test_consumer_seeks_back_on_a_database_outage_and_never_dead_letters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    outage = {"left": 7}  # more failures than consumer_max_retries
    applied: list[str] = []
    error = _locked_error(tmp_path)

    def handler(envelope, payload) -> None:  # type: ignore[no-untyped-def]
        if payload.cluster_id == "b" and outage["left"] > 0:
            outage["left"] -= 1
            raise error
        applied.append(payload.cluster_id)

    producer = _Producer()
    consumer = EventConsumer(ServiceSettings(consumer_max_retries=2), group_id="g",
                             topics=["capacity.v1"], handler=handler, producer=producer)  # type: ignore[arg-type]
    p0, p1 = TopicPartition("capacity.v1", 0), TopicPartition("capacity.v1", 1)
    batch = {p0: [_record(p0, 10, _event("a")), _record(p0, 11, _event("b")),
                  _record(p0, 12, _event("c"))],
             p1: [_record(p1, 5, _event("d"))]}
    stand_in = _StandInConsumer()
    for _ in range(7):  # every poll of the outage re-fetches from the failing record
        assert consumer._apply_batch(stand_in, batch) is True
        assert stand_in.seeks == {p0: 11, p1: 5}
        assert consumer.waiting_for_database
        batch = {p0: batch[p0][1:] if batch[p0][0].offset == 10 else batch[p0], p1: batch[p1]}
    assert consumer._apply_batch(stand_in, batch) is False
    assert applied == ["a", "b", "c", "d"]
    assert consumer.dead_lettered == 0 and producer.sent == []
    assert consumer.transient_failures == 7


def test_consumer_dead_letters_a_handler_error_after_its_retries() -> None:
    calls: list[str] = []

    def handler(envelope, payload) -> None:  # type: ignore[no-untyped-def]
        calls.append(payload.cluster_id)
        raise ValueError("no such factory")

    producer = _Producer()
    consumer = EventConsumer(ServiceSettings(consumer_max_retries=2), group_id="g",
                             topics=["capacity.v1"], handler=handler, producer=producer)  # type: ignore[arg-type]
    tp = TopicPartition("capacity.v1", 0)
    raw = _event("x")
    assert consumer._apply_batch(_StandInConsumer(), {tp: [_record(tp, 3, raw)]}) is False
    assert calls == ["x", "x"]
    [(topic, _key, value, headers)] = producer.sent
    assert topic == "capacity.v1.dlq" and value == raw
    assert b"no such factory" in headers["error"]
    assert json.loads(value)["type"] == "cluster.created"
