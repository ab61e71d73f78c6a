"""Outbox and inbox against real databases (SQLite, and PostgreSQL when configured)."""

import threading

import pytest
import sqlalchemy as sa

from shared.db import make_engine, make_session_factory
from shared.events import decode, new_event
from shared.events.payloads import ClusterCreated
from shared.messaging.outbox import OutboxRelay
from shared.messaging.tables import messaging_metadata, outbox
from shared.uow import SqlAlchemyUnitOfWork

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    messaging_metadata.create_all(engine)
    yield engine
    engine.dispose()


def _event(n: int):
    return new_event(ClusterCreated(cluster_id=f"c{n}", name="C", lat=1, lon=2, max_distance_km=60),
                     key=f"c{n}", producer="test")


def test_outbox_rows_commit_with_the_unit_of_work_or_not_at_all(engine):
    woken = threading.Event()
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine), on_commit=woken.set)
    with uow:
        uow.publish(_event(1))  # never committed
    with uow:
        uow.publish(_event(2))
        uow.commit()
    with engine.connect() as conn:
        keys = conn.execute(sa.select(outbox.c.key)).scalars().all()
    assert keys == ["c2"]
    assert woken.is_set()


def test_inbox_claims_an_event_once_per_consumer(engine):
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    event = _event(1)
    with uow:
        assert uow.claim("orders", event) is True
        uow.commit()
    with uow:
        assert uow.claim("orders", event) is False
        assert uow.claim("matcher", event) is True
        uow.commit()


def test_inbox_claims_a_group_of_events_with_one_statement(engine):
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    first, second, third, fourth = _event(1), _event(2), _event(3), _event(4)
    with uow:
        assert uow.claim("orders", first) is True
        uow.commit()
    statements = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]) if "inbox" in args[2] else None)
    with uow:
        # applied before; new; new; the same event twice in one group: claimed once
        assert uow.claim_all("orders", [first, second, third, second]) == [
            False, True, True, False]
        assert uow.claim_all("orders", []) == []
        uow.commit()
    assert len(statements) == 1
    with uow:
        assert uow.claim_all("orders", [third, fourth]) == [False, True]
        assert uow.claim_all("matcher", [third]) == [True]
    # not committed: nothing of the last group was kept
    with uow:
        assert uow.claim_all("orders", [fourth]) == [True]


def test_relay_publishes_in_order_marks_rows_and_keeps_them(engine):
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    with uow:
        for n in range(7):
            uow.publish(_event(n))
        uow.commit()
    sent: list[tuple[str, str, bytes]] = []
    relay = OutboxRelay(engine=engine, publish_batch=sent.extend, batch_size=5)
    assert relay.relay_once() == 5
    assert relay.relay_once() == 2
    assert relay.relay_once() == 0
    assert [decode(v)[1].cluster_id for _, _, v in sent] == [f"c{n}" for n in range(7)]
    assert {(t, k) for t, k, _ in sent} == {("capacity.v1", f"c{n}") for n in range(7)}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.published_at)).scalars().all()
    assert len(rows) == 7 and all(r is not None for r in rows)
    assert relay.unpublished_count() == 0


def test_relay_leaves_rows_unpublished_when_the_broker_fails(engine):
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    with uow:
        uow.publish(_event(1))
        uow.commit()

    def broken(_records):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        OutboxRelay(engine=engine, publish_batch=broken).relay_once()
    sent: list = []
    relay = OutboxRelay(engine=engine, publish_batch=sent.extend)
    assert relay.unpublished_count() == 1
    assert relay.relay_once() == 1 and len(sent) == 1
