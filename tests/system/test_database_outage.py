"""The database is unavailable for 10 s: the APIs answer 503 problem+json with Retry-After,
the consumers pause on the failing event and resume (nothing dead-lettered), the outbox relay
survives, and every order ends as the oracle says.

PostgreSQL: each service reaches its database through a TCP proxy the test cuts (connections
reset, new ones refused). SQLite: another process holds each database file's write lock
(``BEGIN EXCLUSIVE``), as a backup or a stray migration would; with ``SQLITE_BUSY_TIMEOUT_S=1``
writers give up after a second ("database is locked") while readers go on (WAL).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from sharefab_cli.stack import SERVICES
from tests.conftest import TEST_DATABASE_URL, _fresh_pg_database
from tests.system.conftest import running_stack
from tests.system.faults import Workload
from tests.system.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.system, pytest.mark.slow]

logger = logging.getLogger(__name__)

OUTAGE_S = 10.0
BEFORE, DURING = 20, 20
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


class PgOutage:
    """Three fresh PostgreSQL databases, each behind its own proxy."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.proxies: dict[str, TcpProxy] = {}
        self.urls: dict[str, str] = {}
        for service in SERVICES:
            url = make_url(stack.enter_context(contextlib.contextmanager(_fresh_pg_database)()))
            proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
            stack.callback(proxy.close)
            self.proxies[service] = proxy
            self.urls[service] = url.set(drivername="postgresql+psycopg", host="127.0.0.1",
                                         port=proxy.port).render_as_string(hide_password=False)

    def env(self) -> dict[str, str]:
        return {f"{s.upper()}_DATABASE_URL": url for s, url in self.urls.items()}

    def cut(self, service: str) -> None:
        self.proxies[service].cut()

    def restore(self) -> None:
        for proxy in self.proxies.values():
            proxy.restore()


class SqliteOutage:
    """Another process's write lock on each service's database file."""

    def __init__(self, var_dir) -> None:  # type: ignore[no-untyped-def]
        self.var_dir = var_dir
        self.holders: list[sqlite3.Connection] = []

    def env(self) -> dict[str, str]:
        return {"SQLITE_BUSY_TIMEOUT_S": "1"}

    def cut(self, service: str) -> None:
        holder = sqlite3.connect(self.var_dir / f"{service}.db", isolation_level=None,
                                 timeout=30)
        holder.execute("BEGIN EXCLUSIVE")
        self.holders.append(holder)

    def restore(self) -> None:
        for holder in self.holders:
            holder.rollback()
            holder.close()
        self.holders.clear()


@pytest.fixture(params=BACKENDS)
def outage_stack(request, tmp_path_factory) -> Iterator[tuple]:  # type: ignore[no-untyped-def]
    with contextlib.ExitStack() as resources:
        if request.param == "postgresql":
            outage = PgOutage(resources)
            env = outage.env()
        else:
            outage = None
            env = SqliteOutage(None).env()
        stacks = running_stack(tmp_path_factory, **env)
        resources.callback(stacks.close)
        stack = next(stacks)
        if outage is None:
            outage = SqliteOutage(stack.config.var_dir)
        resources.callback(outage.restore)
        yield request.param, stack, outage


def test_database_unavailable_for_10_s(outage_stack) -> None:  # type: ignore[no-untyped-def]
    backend, stack, outage = outage_stack
    try:
        _outage(backend, stack, outage)
    except BaseException:
        print("\n".join(stack.logs[-300:]))
        raise


def _outage(backend: str, stack, outage) -> None:  # type: ignore[no-untyped-def]
    work = Workload({s: stack.config.url(s) for s in SERVICES}, cluster=f"db-{backend}")
    work.set_up()
    for i in range(BEFORE):
        work.submit(i)
    work.wait_all_held()

    # Capacity's and the matcher's databases go first: orders still takes orders, so events
    # reach consumers whose database is gone. Then the orders database goes too.
    started = time.monotonic()
    outage.cut("capacity")
    outage.cut("matcher")
    for i in range(BEFORE, BEFORE + DURING):
        work.submit(i)
    outage.cut("orders")
    refused = httpx.post(stack.config.url("orders") + "/v1/orders", timeout=30,
                         headers={**work.buy, "Idempotency-Key": f"{work.cluster}-during"},
                         json=work.order_body(BEFORE + DURING))
    window = httpx.post(f"{stack.config.url('capacity')}/v1/machines/m-none/windows",
                        headers=work.sup, timeout=30,
                        json={"start": work.t0.isoformat(), "end": work.t0.isoformat(),
                              "hours": 1})
    accept = httpx.post(f"{stack.config.url('capacity')}/v1/reservations/r-any/accept",
                        headers=work.sup, timeout=30)
    ready = {s: httpx.get(stack.config.url(s) + "/readyz", timeout=30) for s in SERVICES}
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))
    outage.restore()
    restored = time.monotonic()

    for response in (refused, accept):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) > 0
        assert response.json()["status"] == 503
    assert window.status_code in (404, 503)  # reading the machine may succeed on SQLite (WAL)
    if backend == "postgresql":
        assert all(r.status_code == 503 for r in ready.values())
        assert all("unreachable" in r.json()["checks"]["database"] for r in ready.values())

    # The refused POST is retried with its Idempotency-Key: stored once.
    work.submit(BEFORE + DURING)
    assert work.order_ids[BEFORE + DURING] and "-during" not in work.order_ids
    work.wait_all_held()
    converged = time.monotonic() - restored
    figures = work.check(stack.config.bootstrap)
    for s in SERVICES:  # relay and consumer threads alive, database reachable again
        r = httpx.get(stack.config.url(s) + "/readyz", timeout=30)
        assert r.status_code == 200, r.text
    paused = [line for line in stack.logs if "database unavailable" in line and "pausing" in line]
    assert any(line.lstrip().startswith("matcher") for line in paused), "the matcher never paused"
    logger.warning("DB-OUTAGE %s: %s; outage %.1f s; %d consumer pause(s) logged: %s; "
                   "converged %.1f s after the database came back", backend, figures,
                   restored - started, len(paused),
                   sorted({line.split("|")[0].strip() for line in paused}), converged)
