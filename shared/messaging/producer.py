"""Topics, broker reachability and the idempotent producer (plain Kafka protocol)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

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
        """Drop the client after a failure; the next send builds a new one. A client stuck on a
        broker that forgot it (a restarted broker no longer knows its producer id) cannot even
        flush on close: it is then closed by force, and dropped in any case."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=1)
        except Exception:
            logger.warning("producer did not close cleanly; closing it by force", exc_info=True)
            with contextlib.suppress(Exception):
                producer.close(timeout=0)

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
