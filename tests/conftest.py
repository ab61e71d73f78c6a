"""Fixtures every test folder shares: database URLs for SQLite and PostgreSQL, and tokens."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def _pg_admin_url() -> str:
    url = make_url(TEST_DATABASE_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    yield from _fresh_pg_database()


def _fresh_pg_database() -> Iterator[str]:
    import psycopg

    admin = make_url(_pg_admin_url())
    name = f"sharefab_t_{uuid.uuid4().hex[:12]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A real Kafka-protocol broker (Tansu) on a free port, with the topics; stopped afterwards."""
    from sharefab_cli.stack import LocalStack, StackConfig, free_port

    logs: list[str] = []
    stack = LocalStack(
        StackConfig(broker_port=free_port(), var_dir=tmp_path_factory.mktemp("broker")),
        sink=lambda name, line: logs.append(f"{name}: {line}"),
    )
    try:
        stack.start_broker()
        yield stack.config.bootstrap
    finally:
        stack.stop()
