"""The consumer applies a partition's polled records together when the handler can (``many``),
and falls back to one by one — retries and DLQ per event — when the group fails."""

from __future__ import annotations

from kafka.structs import TopicPartition

from shared.messaging.kafka import GROUP_MAX_RECORDS, EventConsumer
from shared.settings import ServiceSettings
from tests.shared.test_transient import (
    _event,
    _locked_error,
    _Producer,
    _record,
    _StandInConsumer,
)

P0, P1 = TopicPartition("capacity.v1", 0), TopicPartition("capacity.v1", 1)


class _GroupingHandler:
    """Records what was applied alone and in groups; a group containing ``fail_on`` fails."""

    def __init__(self, *, fail_on: str | None = None, fail_alone: bool = False,
                 error: Exception | None = None) -> None:
        self.alone: list[str] = []
        self.groups: list[list[str]] = []
        self.fail_on, self.fail_alone = fail_on, fail_alone
        self.error = error or ValueError("no such factory")

    def __call__(self, envelope, payload) -> None:  # type: ignore[no-untyped-def]
        if self.fail_alone and payload.cluster_id == self.fail_on:
            raise self.error
        self.alone.append(payload.cluster_id)

    def many(self, events) -> None:  # type: ignore[no-untyped-def]
        names = [payload.cluster_id for _envelope, payload in events]
        if self.fail_on in names:
            raise self.error
        self.groups.append(names)


def _consumer(handler: _GroupingHandler, producer: _Producer) -> EventConsumer:
    return EventConsumer(ServiceSettings(consumer_max_retries=2), group_id="g",
                         topics=["capacity.v1"], handler=handler, producer=producer)  # type: ignore[arg-type]


def test_each_partitions_records_are_applied_as_one_group() -> None:
    handler, producer = _GroupingHandler(), _Producer()
    consumer = _consumer(handler, producer)
    batch = {P0: [_record(P0, 10, _event("a")), _record(P0, 11, _event("b"))],
             P1: [_record(P1, 5, _event("c"))]}  # a single record goes alone
    assert consumer._apply_batch(_StandInConsumer(), batch) is False
    assert handler.groups == [["a", "b"]] and handler.alone == ["c"]
    assert consumer.applied == 3 and producer.sent == []


def test_a_failing_group_is_applied_one_by_one_and_only_the_bad_event_is_dead_lettered() -> None:
    handler, producer = _GroupingHandler(fail_on="b", fail_alone=True), _Producer()
    consumer = _consumer(handler, producer)
    batch = {P0: [_record(P0, 10, _event("a")), _record(P0, 11, _event("b")),
                  _record(P0, 12, _event("c"))]}
    assert consumer._apply_batch(_StandInConsumer(), batch) is False
    assert handler.groups == [] and handler.alone == ["a", "c"]
    [(topic, _key, value, _headers)] = producer.sent
    assert topic == "capacity.v1.dlq" and value == batch[P0][1].value
    assert consumer.applied == 2 and consumer.dead_lettered == 1


def test_an_undecodable_record_sends_the_partition_one_by_one() -> None:
    handler, producer = _GroupingHandler(), _Producer()
    consumer = _consumer(handler, producer)
    batch = {P0: [_record(P0, 1, _event("a")), _record(P0, 2, b"{not json"),
                  _record(P0, 3, _event("c"))]}
    assert consumer._apply_batch(_StandInConsumer(), batch) is False
    assert handler.groups == [] and handler.alone == ["a", "c"]
    assert [s[0] for s in producer.sent] == ["capacity.v1.dlq"]


def test_a_database_outage_in_a_group_seeks_back_to_the_partitions_first_record(tmp_path) -> None:  # type: ignore[no-untyped-def]
    handler = _GroupingHandler(fail_on="b", error=_locked_error(tmp_path))
    producer, stand_in = _Producer(), _StandInConsumer()
    consumer = _consumer(handler, producer)
    batch = {P0: [_record(P0, 10, _event("a")), _record(P0, 11, _event("b"))],
             P1: [_record(P1, 5, _event("c")), _record(P1, 6, _event("d"))]}
    assert consumer._apply_batch(stand_in, batch) is True
    assert stand_in.seeks == {P0: 10, P1: 5}  # nothing of either partition was kept
    assert handler.groups == [] and handler.alone == []
    assert consumer.waiting_for_database and producer.sent == []


def test_long_polls_are_cut_into_groups_and_an_outage_keeps_the_groups_before(tmp_path) -> None:  # type: ignore[no-untyped-def]
    n = 2 * GROUP_MAX_RECORDS + 6
    handler = _GroupingHandler(fail_on=f"c{GROUP_MAX_RECORDS + 3}", error=_locked_error(tmp_path))
    producer, stand_in = _Producer(), _StandInConsumer()
    consumer = _consumer(handler, producer)
    batch = {P0: [_record(P0, 100 + k, _event(f"c{k}")) for k in range(n)]}
    assert consumer._apply_batch(stand_in, batch) is True
    assert [len(g) for g in handler.groups] == [GROUP_MAX_RECORDS]
    assert stand_in.seeks == {P0: 100 + GROUP_MAX_RECORDS}  # the failed group's first record

    handler.fail_on = None
    assert consumer._apply_batch(_StandInConsumer(), {P0: batch[P0][GROUP_MAX_RECORDS:]}) is False
    assert [len(g) for g in handler.groups] == [GROUP_MAX_RECORDS, GROUP_MAX_RECORDS, 6]
    assert consumer.applied == n
