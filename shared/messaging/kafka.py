"""Plain Kafka protocol through kafka-python: topics, an idempotent producer and a consumer loop.

Nothing here knows which broker it talks to (Apache Kafka in deployments, Tansu locally).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from tenacity import Retrying, stop_after_attempt, wait_exponential

from shared.background import BackgroundWorker
from shared.events import Envelope, EventPayload, PoisonEvent, decode, dlq_topic
from shared.events.topics import ALL_TOPICS
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)


def ensure_topics(
    bootstrap_servers: list[str],
    *,
    partitions: int,
    replication_factor: int = 1,
    topics: Iterable[str] = ALL_TOPICS,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="sharefab-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in topics if t not in existing]
        if wanted:
            # Another process may have created them in the meantime.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [NewTopic(t, partitions, replication_factor) for t in wanted]
                )
        return wanted
    finally:
        admin.close()


def broker_reachable(bootstrap_servers: list[str], timeout_s: float = 1.0) -> bool:
    """True if any bootstrap server accepts a TCP connection."""
    for server in bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
                return True
        except OSError:
            continue
    return False


class Producer:
    """Idempotent producer (acks=all), connected on first use and rebuilt after a failure.

    ``send_batch`` returns once every record is acknowledged, or raises.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _client(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self._settings.bootstrap_servers,
                    client_id=f"{self._settings.service_name}-producer",
                    enable_idempotence=True,
                    acks="all",
                    linger_ms=2,
                )
            return self._producer

    def _discard(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=1)
                self._producer = None

    def send_batch(self, records: list[tuple[str, str, bytes]], timeout_s: float = 30.0) -> None:
        client = self._client()
        try:
            futures = [
                client.send(topic, key=key.encode("utf-8"), value=value)
                for topic, key, value in records
            ]
            client.flush(timeout_s)
            for future in futures:
                future.get(timeout=timeout_s)  # raises if the broker did not acknowledge
        except Exception:
            self._discard()
            raise

    def send(self, topic: str, key: bytes | None, value: bytes | None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        client = self._client()
        try:
            client.send(topic, key=key, value=value, headers=headers).get(timeout=30)
        except Exception:
            self._discard()
            raise

    def close(self) -> None:
        self._discard()


Handler = Callable[[Envelope, EventPayload], None]


class EventConsumer(BackgroundWorker):
    """A consumer-group member that applies events with retries and dead-letters failures.

    ``handler`` must be idempotent (the inbox makes it so); offsets are committed after each
    polled batch has been applied or dead-lettered, so a crash re-delivers at most one batch.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        group_id: str,
        topics: list[str],
        handler: Handler,
        producer: Producer,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._group_id = group_id
        self._topics = topics
        self._handler = handler
        self._producer = producer
        self.thread_name = f"consumer-{group_id}"
        self.applied = 0
        self.dead_lettered = 0
        self.last_poll_at: float | None = None

    def _make_consumer(self) -> KafkaConsumer:
        s = self._settings
        consumer = KafkaConsumer(
            bootstrap_servers=s.bootstrap_servers,
            group_id=self._group_id,
            client_id=f"{s.service_name}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
            max_poll_interval_ms=s.kafka_max_poll_interval_ms,
            max_poll_records=200,
            fetch_max_wait_ms=s.kafka_fetch_max_wait_ms,
        )
        consumer.subscribe(self._topics)
        return consumer

    def _run(self) -> None:
        consumer: KafkaConsumer | None = None
        while not self._stop.is_set():
            try:
                if consumer is None:
                    consumer = self._make_consumer()
                batch = consumer.poll(timeout_ms=500)
                self.last_poll_at = time.monotonic()
                for records in batch.values():
                    for record in records:
                        self._process(record)
                if batch:
                    consumer.commit()
            except Exception:
                logger.exception("consumer loop failed; reconnecting")
                if consumer is not None:
                    consumer.close(autocommit=False)
                    consumer = None
                self._stop.wait(2.0)
        if consumer is not None:
            consumer.close(autocommit=False)

    def _process(self, record) -> None:  # type: ignore[no-untyped-def]
        try:
            envelope, payload = decode(record.value)
        except PoisonEvent as exc:
            self._dead_letter(record, str(exc))
            return
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self._settings.consumer_max_retries),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                reraise=True,
            ):
                with attempt:
                    self._handler(envelope, payload)
            self.applied += 1
        except Exception as exc:
            logger.exception("event %s (%s) could not be applied", envelope.event_id, envelope.type)
            self._dead_letter(record, f"{type(exc).__name__}: {exc}")

    def _dead_letter(self, record, error: str) -> None:  # type: ignore[no-untyped-def]
        headers = [
            ("error", error[:4000].encode("utf-8")),
            ("source_topic", record.topic.encode()),
            ("source_partition", str(record.partition).encode()),
            ("source_offset", str(record.offset).encode()),
            ("consumer_group", self._group_id.encode()),
        ]
        self._producer.send(dlq_topic(record.topic), record.key, record.value, headers)
        self.dead_lettered += 1
        logger.error(
            "dead-lettered %s[%s]@%s: %s", record.topic, record.partition, record.offset, error
        )
