"""The consumer loop through kafka-python: apply with retries, dead-letter, and (optionally)
resume from stored offsets and report partition ownership after rebalances.

Nothing here knows which broker it talks to (Apache Kafka in deployments, Tansu locally).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from shared.background import BackgroundWorker
from shared.events import Envelope, EventPayload, PoisonEvent, decode, dlq_topic
from shared.logs import correlation_id
from shared.messaging.partitions import Assignment, OffsetStore, RecordPosition
from shared.messaging.producer import Producer
from shared.settings import ServiceSettings
from shared.transient import is_transient_db_error

logger = logging.getLogger(__name__)


Handler = Callable[[Envelope, EventPayload], None]
MAX_POLL_RECORDS = 200
# events applied in one transaction (handler.many): enough to save most commits, few enough
# that the transaction (on SQLite, the one writer's turn) stays short for the API's writes
GROUP_MAX_RECORDS = 32
TRANSIENT_BACKOFF_MAX_S = 5.0
COMMIT_TIMEOUT_MS = 5000  # a stopping consumer does not wait longer for a broker that is gone


class _Transient(Exception):
    """The database is out of reach: the record is tried again later, never dead-lettered."""


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    def on_partitions_revoked(self, revoked):  # type: ignore[no-untyped-def]
        self._owner._revoked(revoked)

    def on_partitions_assigned(self, assigned):  # type: ignore[no-untyped-def]
        self._owner._assigned(assigned)


class EventConsumer(BackgroundWorker):
    """A consumer-group member that applies events with retries and dead-letters failures.

    ``handler`` must be idempotent (the inbox makes it so). Offsets of the records applied or
    dead-lettered are committed at most every ``kafka_commit_interval_ms`` while partitions
    are assigned, and when the consumer stops: after a crash or a rebalance, what was applied
    since the last commit is delivered again, and the inbox skips it. (A commit is a broker
    round trip: with kafka-python, as much of this process's CPU as publishing a small batch.)

    A transient database error (``shared.transient``) is not the event's fault: the consumer
    seeks back to the failing record, waits (backing off up to
    ``TRANSIENT_BACKOFF_MAX_S``) and polls again — without limit, staying in its group — so
    nothing is dead-lettered because the database was down. ``waiting_for_database`` is true
    meanwhile. Any other error is retried ``consumer_max_retries`` times, then dead-lettered.

    Optional, for a consumer that rebuilds state from the topics (the matcher):
    - ``offset_store``: on every assignment each partition is sought to its stored offset + 1,
      or to the beginning if it has none; the handler is then called with a third argument,
      ``position=RecordPosition``, to store with its effect.
    - ``replay_order``: while newly assigned partitions catch up (to the end offset seen at
      assignment), a topic's partitions are fetched only once the lagging partitions of the
      topics before it in this list have caught up (causes before effects).
    - ``on_revoked``: called with the revoked partitions before the group rebalances, e.g. to
      finish work that depends on them.
    - ``handler.many``: if the handler has it, each partition's polled records are passed to it
      together, as a list of (envelope, payload) — (envelope, payload, position) with an
      ``offset_store`` — to apply in one transaction (one commit for up to
      ``GROUP_MAX_RECORDS`` events); if that fails they are applied one by one as above.
    ``assignment`` shows the partitions held and those caught up (None before the first).

    A member whose join has not ended with an assignment (possibly empty) within the longest
    a rebalance may legitimately take — the max poll interval plus the session timeout — is
    rebuilt, with a new member id. Seen once after a broker restart: one service's consumer
    kept polling, its partitions revoked, and never got them back.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        group_id: str,
        topics: list[str],
        handler: Handler,
        producer: Producer,
        offset_store: OffsetStore | None = None,
        replay_order: list[str] | None = None,
        on_revoked: Callable[[set[tuple[str, int]]], None] | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._group_id = group_id
        self._topics = topics
        self._handler: Any = handler
        self._producer = producer
        self._offset_store = offset_store
        self._replay_order = list(replay_order or [])
        self._on_revoked = on_revoked
        self.thread_name = f"consumer-{group_id}"
        self.applied = 0
        self.dead_lettered = 0
        self.transient_failures = 0
        self.waiting_for_database = False
        self.last_poll_at: float | None = None
        self.lag: dict[tuple[str, int], int] = {}  # records behind the end, as of the last poll
        self.assignment: Assignment | None = None
        # once the first assignment has caught up: the service reads what the topics held
        # when it started (``/readyz`` waits for it); stays true across later rebalances
        self.joined = False
        self._consumer: KafkaConsumer | None = None
        self._paused: set[TopicPartition] = set()
        self._ends: dict[TopicPartition, int] | None = None  # None: to be read after assignment
        self._lagging: set[TopicPartition] = set()
        self._assign_failed = False
        self._unassigned_since: float | None = None  # joining the group since (monotonic)
        self._commit_interval_s = settings.kafka_commit_interval_ms / 1000
        self._uncommitted = False  # records applied since the last commit
        self._committed_at = -math.inf  # monotonic
        self.commits = 0
        self._rejoin_timeout_s = (settings.kafka_max_poll_interval_ms
                                  + settings.kafka_session_timeout_ms) / 1000

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
            max_poll_records=MAX_POLL_RECORDS,
            fetch_max_wait_ms=s.kafka_fetch_max_wait_ms,
        )
        self._consumer = consumer
        self._unassigned_since = time.monotonic()
        consumer.subscribe(self._topics, listener=_Listener(self))
        return consumer

    # -- rebalances (called inside poll(), on this worker's thread) ----------------------------
    def _revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.assignment = None
        self._paused.clear()
        self._lagging.clear()
        parts = {(tp.topic, tp.partition) for tp in revoked}
        logger.info("partitions revoked: %s", _fmt(parts))
        if self._on_revoked is not None and parts:
            try:
                self._on_revoked(parts)
            except Exception:
                logger.exception("on_revoked hook failed")
        self._unassigned_since = time.monotonic()  # the join starts after the hook

    def _assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self._unassigned_since = None
        tps = sorted(assigned)
        logger.info("partitions assigned: %s", _fmt({(tp.topic, tp.partition) for tp in tps}))
        try:
            self._seek_and_pause(tps)
        except Exception:  # kafka-python swallows listener errors: reconnect after this poll
            logger.exception("could not position the assigned partitions")
            self._assign_failed = True

    def _seek_and_pause(self, tps: list[TopicPartition]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        if self._offset_store is not None and tps:
            self._forget_recreated_topics(consumer, {tp.topic for tp in tps})
            stored = self._offset_store.load([(tp.topic, tp.partition) for tp in tps])
            for tp in tps:
                last = stored.get((tp.topic, tp.partition))
                if last is None:
                    consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, last + 1)
        if self._offset_store is not None or self._replay_order:
            consumer.pause(*tps)  # resumed topic by topic once end offsets are known
            self._paused = set(tps)
            self._ends = None
        else:
            self._ends = {}
        self.assignment = Assignment(assigned=frozenset((tp.topic, tp.partition) for tp in tps),
                                     ready=frozenset(), partition_counts={})
        if not self._paused:
            self._publish_assignment(consumer)

    def _forget_recreated_topics(self, consumer: KafkaConsumer, topics: set[str]) -> None:
        """Stored offsets of a topic the broker has created anew (after a restart that lost
        its logs) are dropped, so its partitions are read from the beginning: the new log
        holds new or replayed events, and the inbox skips those applied before."""
        check = getattr(self._offset_store, "check_topic_ids", None)
        cluster = getattr(getattr(consumer, "_client", None), "cluster", None)
        if check is None or cluster is None:
            return
        ids = {t: str(cluster.topic_id(t)) for t in topics if cluster.topic_id(t) is not None}
        recreated = check(ids) if ids else set()
        if recreated:
            logger.warning("topic(s) %s were created anew on the broker: reading them from "
                           "the beginning", ", ".join(sorted(recreated)))

    def _catch_up(self, consumer: KafkaConsumer, polled: int = 0) -> None:
        """After a poll: learn end offsets of a fresh assignment, then resume what may fetch."""
        if self._assign_failed:
            self._assign_failed = False
            raise RuntimeError("partitions assigned but not positioned")
        if self.assignment is None:
            return
        if self._ends is None:
            paused = sorted(self._paused)
            self._ends = consumer.end_offsets(paused) if paused else {}
            self._lagging = {tp for tp in paused
                             if consumer.position(tp) < self._ends.get(tp, 0)}
            logger.info("catching up %d partition(s) from stored offsets", len(self._lagging))
        elif not self._lagging and not self._paused and self.assignment.partition_counts:
            return
        # A fetch returns whole record batches, so once the position passes the end offset the
        # rest of that batch is buffered here, and a poll that was not cut short by
        # max_poll_records has handed it over (Tansu reports the end as the last batch's base
        # offset + 1, short of the true end by the rest of that batch).
        cut_short = polled >= MAX_POLL_RECORDS
        self._lagging = {tp for tp in self._lagging
                         if cut_short or consumer.position(tp) < self._ends[tp]}
        blocked = next((i for i, t in enumerate(self._replay_order)
                        if any(tp.topic == t for tp in self._lagging)), None)
        resume = [tp for tp in self._paused
                  if blocked is None or tp.topic not in self._replay_order
                  or self._replay_order.index(tp.topic) <= blocked]
        if resume:
            consumer.resume(*resume)
            self._paused.difference_update(resume)
        self._publish_assignment(consumer)

    def _check_rejoin(self) -> None:
        """Raise (the loop then rebuilds the consumer) if joining the group takes too long."""
        since = self._unassigned_since
        if since is not None and time.monotonic() - since > self._rejoin_timeout_s:
            raise RuntimeError(f"no partitions assigned for {time.monotonic() - since:.0f} s "
                               "after joining the group; rebuilding the consumer")

    def _publish_assignment(self, consumer: KafkaConsumer) -> None:
        assert self.assignment is not None
        counts = {}
        for topic in self._topics:
            parts = consumer.partitions_for_topic(topic)
            if not parts:  # unknown yet: own no key until every topic's count is known
                counts = {}
                break
            counts[topic] = len(parts)
        not_ready = {(tp.topic, tp.partition) for tp in self._lagging | self._paused}
        ready = frozenset(self.assignment.assigned - not_ready)
        if ready != self.assignment.ready or counts != self.assignment.partition_counts:
            self.assignment = Assignment(assigned=self.assignment.assigned, ready=ready,
                                         partition_counts=counts)
            if self.assignment.caught_up:
                logger.info("caught up on %d partition(s)", len(ready))
                self.joined = True

    def _run(self) -> None:
        consumer: KafkaConsumer | None = None
        backoff = 0.0
        while not self._stop.is_set():
            try:
                if consumer is None:
                    consumer = self._make_consumer()
                batch = consumer.poll(timeout_ms=500)
                self.last_poll_at = time.monotonic()
                polled = sum(len(r) for r in batch.values())
                blocked = self._apply_batch(consumer, batch)
                self._uncommitted = self._uncommitted or bool(batch)
                if (self.assignment is not None  # not in the middle of a rebalance
                        and time.monotonic() - self._committed_at >= self._commit_interval_s):
                    self._commit(consumer)
                self._catch_up(consumer, 0 if blocked else polled)
                self._check_rejoin()
                self.lag = _lag(consumer)
                if blocked:
                    backoff = min(TRANSIENT_BACKOFF_MAX_S, max(0.2, backoff * 2))
                    self._stop.wait(backoff)
                elif polled:
                    backoff = 0.0
                    self.waiting_for_database = False
            except Exception:
                logger.exception("consumer loop failed; reconnecting")
                if consumer is not None:
                    self._close(consumer)
                    consumer = None
                self._stop.wait(2.0)
        if consumer is not None:
            try:
                self._commit(consumer)
            finally:
                self._close(consumer)

    def _commit(self, consumer: KafkaConsumer) -> None:
        """Positions — after the applied records, or sought back — to the broker, if any
        record was applied since the last commit."""
        if not self._uncommitted:
            return
        self._committed_at = time.monotonic()  # a failed commit too waits for the interval
        try:
            consumer.commit(timeout_ms=COMMIT_TIMEOUT_MS)
        except KafkaError as exc:  # e.g. a rebalance began: those records come again, skipped
            logger.info("offsets not committed (%s); trying again later", exc)
            return
        self._uncommitted = False
        self.commits += 1

    def _apply_batch(self, consumer: KafkaConsumer, batch) -> bool:  # type: ignore[no-untyped-def]
        """Apply every record; on a transient database error seek each partition back to its
        first record not applied and return True (the batch is fetched again later)."""
        pending = list(batch.items())
        for n, (tp, records) in enumerate(pending):
            failed_at = None
            try:
                for start in range(0, len(records), GROUP_MAX_RECORDS):
                    group = records[start:start + GROUP_MAX_RECORDS]
                    failed_at = group[0]
                    for record in group[self._apply_together(group):]:
                        failed_at = record
                        self._process(record)
            except _Transient as exc:
                # together: nothing of that group was kept; alone: the failing record
                record = failed_at
                self.transient_failures += 1
                if not self.waiting_for_database:
                    logger.warning("database unavailable (%s); pausing at %s[%s]@%s",
                                   exc, record.topic, record.partition, record.offset)
                self.waiting_for_database = True
                consumer.seek(tp, record.offset)
                for later_tp, later in pending[n + 1:]:
                    if later:
                        consumer.seek(later_tp, later[0].offset)
                return True
        return False

    def _apply_together(self, records: list) -> int:  # type: ignore[type-arg]
        """Apply a partition's records in one transaction when the handler can (``many``):
        answers how many were applied — all, or none when they must go one by one (a record
        that cannot be decoded, or any handler error: the group was rolled back, and one by one
        each event gets its retries and, if it still fails, the DLQ)."""
        many = getattr(self._handler, "many", None)
        if many is None or len(records) < 2:
            return 0
        events = []
        for record in records:
            try:
                envelope, payload = decode(record.value)
            except PoisonEvent:
                return 0
            events.append((envelope, payload) if self._offset_store is None
                          else (envelope, payload, _position(record)))
        try:
            many(events)
        except Exception as exc:
            if is_transient_db_error(exc):
                raise _Transient(f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc
            logger.info("a group of %d events failed (%s); applying them one by one",
                        len(events), exc)
            return 0
        self.applied += len(records)
        return len(records)

    def _close(self, consumer: KafkaConsumer) -> None:
        self.assignment = None
        self._consumer = None
        consumer.close(autocommit=False)

    def _process(self, record) -> None:  # type: ignore[no-untyped-def]
        try:
            envelope, payload = decode(record.value)
        except PoisonEvent as exc:
            self._dead_letter(record, str(exc))
            return
        token = correlation_id.set(envelope.correlation_id or str(envelope.event_id))
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self._settings.consumer_max_retries),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                retry=retry_if_exception(lambda e: not is_transient_db_error(e)),
                reraise=True,
            ):
                with attempt:
                    if self._offset_store is None:
                        self._handler(envelope, payload)
                    else:
                        self._handler(envelope, payload, position=_position(record))
            self.applied += 1
        except Exception as exc:
            if is_transient_db_error(exc):
                raise _Transient(f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc
            logger.exception("event %s (%s) could not be applied", envelope.event_id, envelope.type)
            self._dead_letter(record, f"{type(exc).__name__}: {exc}")
        finally:
            correlation_id.reset(token)

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
        if self._offset_store is not None:
            try:
                self._offset_store.save(_position(record))
            except Exception as exc:
                if is_transient_db_error(exc):  # dead-lettered again later: a duplicate at most
                    raise _Transient(str(exc).splitlines()[0]) from exc
                raise
        logger.error(
            "dead-lettered %s[%s]@%s: %s", record.topic, record.partition, record.offset, error
        )


def _lag(consumer: KafkaConsumer) -> dict[tuple[str, int], int]:
    """Per assigned partition: the end offset the last fetch reported minus our position
    (partitions not fetched yet are left out)."""
    lag = {}
    for tp in consumer.assignment():
        end = consumer.highwater(tp)
        at = consumer.position(tp, timeout_ms=0) if end is not None else None
        if end is not None and at is not None:
            lag[(tp.topic, tp.partition)] = max(0, end - at)
    return lag


def _position(record) -> RecordPosition:  # type: ignore[no-untyped-def]
    return RecordPosition(topic=record.topic, partition=record.partition, offset=record.offset)


def _fmt(parts: set[tuple[str, int]]) -> str:
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(parts):
        by_topic.setdefault(topic, []).append(partition)
    return "; ".join(f"{t} {ps}" for t, ps in by_topic.items()) or "none"
