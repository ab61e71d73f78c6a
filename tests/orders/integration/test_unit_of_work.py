"""The SQLAlchemy unit of work: on SQLite, transactions take turns in-process."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.orders.adapters.unit_of_work import SqlAlchemyOrdersUnitOfWork

pytestmark = pytest.mark.integration


def test_turns_are_taken_on_sqlite_only(client: TestClient, app: FastAPI) -> None:
    uow = app.state.runtime.uow_factory()
    assert isinstance(uow, SqlAlchemyOrdersUnitOfWork)
    sqlite = app.state.runtime.engine.dialect.name == "sqlite"
    assert (uow._turns is not None) is sqlite


def test_a_second_unit_of_work_waits_for_the_first_and_errors_release_the_turn(
    app: FastAPI, client: TestClient
) -> None:
    turns = threading.RLock()
    factory = app.state.runtime.session_factory

    def new_uow() -> SqlAlchemyOrdersUnitOfWork:
        return SqlAlchemyOrdersUnitOfWork(factory, turns=turns)

    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with new_uow() as uow:
            first_in.set()
            time.sleep(0.2)
            uow.clusters.exists("qhd-auto")
            order.append("first done")

    def second() -> None:
        first_in.wait()
        with new_uow():
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert order == ["first done", "second in"]

    with pytest.raises(RuntimeError), new_uow():
        raise RuntimeError("handler failed")
    taken = threading.Thread(target=lambda: order.append(str(turns.acquire(timeout=1))))
    taken.start()
    taken.join(5)
    assert order[-1] == "True"
