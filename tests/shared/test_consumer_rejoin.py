"""A consumer whose group join does not end with an assignment in time is rebuilt (its loop
raises, closes it and makes a new member), and a legitimate rebalance is left alone."""

from __future__ import annotations

import logging
import time

import pytest
from kafka.errors import CommitFailedError
from kafka.structs import TopicPartition

from shared.messaging import kafka as kafka_module
from shared.messaging.kafka import EventConsumer
from shared.settings import ServiceSettings
from tests.helpers import Clock

TP = TopicPartition("orders.v1", 0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(kafka_module.time, "monotonic", c)
    return c


def consumer(**hooks) -> EventConsumer:  # type: ignore[no-untyped-def]
    # a rebalance may take the max poll interval plus the session timeout: 36 s here
    settings = ServiceSettings(kafka_max_poll_interval_ms=30000, kafka_session_timeout_ms=6000)
    c = EventConsumer(settings, group_id="g", topics=["orders.v1"],
                      handler=lambda *a, **k: None, producer=None,  # type: ignore[arg-type]
                      **hooks)
    return c


def test_a_join_that_never_ends_gets_the_consumer_rebuilt(clock: Clock) -> None:
    c = consumer()
    c._assigned([TP])
    c._revoked([TP])  # the broker restarted: the group rebalances
    clock.now += 35
    c._check_rejoin()  # still within a rebalance's time
    clock.now += 2
    with pytest.raises(RuntimeError, match="no partitions assigned for 37 s"):
        c._check_rejoin()


def test_an_assignment_even_an_empty_one_ends_the_wait(clock: Clock) -> None:
    c = consumer()
    c._revoked([TP])
    c._assigned([])  # more members than partitions: nothing to read, and that is fine
    clock.now += 3600
    c._check_rejoin()


def test_the_wait_starts_after_the_revoke_hook(clock: Clock) -> None:
    def slow_hook(_parts: set[tuple[str, int]]) -> None:
        clock.now += 30  # e.g. the matcher finishing its run and publishing it

    c = consumer(on_revoked=slow_hook)
    c._assigned([TP])
    c._revoked([TP])
    clock.now += 35
    c._check_rejoin()


class NeverAssigned:
    """A KafkaConsumer stand-in stuck joining: polls return nothing, no assignment comes."""

    made: list[NeverAssigned] = []

    def __init__(self, **_config: object) -> None:
        self.closed = False
        NeverAssigned.made.append(self)

    def subscribe(self, topics: list[str], listener: object) -> None:
        pass

    def poll(self, timeout_ms: int) -> dict:  # type: ignore[type-arg]
        time.sleep(timeout_ms / 1000 / 10)
        return {}

    def assignment(self) -> set[TopicPartition]:
        return set()

    def close(self, autocommit: bool) -> None:
        self.closed = True


def test_the_running_loop_closes_a_stuck_member_and_joins_with_a_new_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_module, "KafkaConsumer", NeverAssigned)
    monkeypatch.setattr(NeverAssigned, "made", [])
    settings = ServiceSettings(kafka_max_poll_interval_ms=100, kafka_session_timeout_ms=100)
    c = EventConsumer(settings, group_id="g", topics=["orders.v1"],
                      handler=lambda *a, **k: None, producer=None)  # type: ignore[arg-type]
    c.start()
    try:
        deadline = time.monotonic() + 10
        while len(NeverAssigned.made) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        c.stop()
    # unassigned for 0.2 s: closed, and after the loop's 2 s pause a new member joins
    assert len(NeverAssigned.made) >= 2 and NeverAssigned.made[0].closed


class Committing:
    """A KafkaConsumer stand-in that counts commits, or fails them."""

    def __init__(self, *, fails: bool = False) -> None:
        self.commits = 0
        self.fails = fails

    def commit(self, timeout_ms: int) -> None:
        if self.fails:
            raise CommitFailedError("the group is rebalancing")
        self.commits += 1


def test_a_commit_that_fails_is_logged_and_made_again_later(
        caplog: pytest.LogCaptureFixture) -> None:
    """Records applied just before a rebalance: their offsets are committed by a later
    attempt (or, if the partitions went, the next owner reads them again; its inbox skips
    them) — the consumer is not rebuilt for it."""
    caplog.set_level(logging.INFO, logger="shared.messaging.kafka")
    c, stand_in = consumer(), Committing(fails=True)
    c._uncommitted = True  # records applied since the last commit
    c._commit(stand_in)  # type: ignore[arg-type]
    assert c.commits == 0 and "offsets not committed" in caplog.text
    stand_in.fails = False
    c._commit(stand_in)  # type: ignore[arg-type]
    assert stand_in.commits == 1 and c.commits == 1
    c._commit(stand_in)  # type: ignore[arg-type]
    assert stand_in.commits == 1  # nothing applied since: nothing to commit
