"""On SQLite, units of work of one process take turns to write (a fair in-process queue)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from shared.db import make_engine, make_session_factory, write_turn
from shared.uow import SqlAlchemyUnitOfWork

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_turns_are_taken_on_sqlite_only(engine):
    turn = write_turn(engine)
    if engine.dialect.name == "sqlite":
        assert turn is write_turn(engine)  # one queue per engine
        assert hasattr(turn, "acquire")
    else:
        assert not hasattr(turn, "acquire")


def test_a_second_unit_of_work_waits_for_the_first_and_errors_release_the_turn(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")  # SQLite only: PG locks rows
    factory = make_session_factory(engine)
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with SqlAlchemyUnitOfWork(factory) as uow:
            first_in.set()
            time.sleep(0.2)  # the session starts its transaction lazily, after this
            uow.session.execute(sa.text("SELECT 1"))
            order.append("first done")

    def second() -> None:
        first_in.wait()
        with SqlAlchemyUnitOfWork(factory):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert order == ["first done", "second in"]

    with pytest.raises(RuntimeError), SqlAlchemyUnitOfWork(factory):
        raise RuntimeError("handler failed")
    acquired = []
    taker = threading.Thread(target=lambda: acquired.append(write_turn(engine).acquire(timeout=1)))
    taker.start()
    taker.join(5)
    assert acquired == [True]
