"""Database helpers shared by the services: engines (SQLite WAL or PostgreSQL) and migrations."""

from __future__ import annotations

import logging
import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, Insert, Table, TypeDecorator, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

logger = logging.getLogger(__name__)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime column on every backend.

    PostgreSQL keeps the zone; SQLite stores text and hands back naive datetimes. Values are
    written as UTC (a naive one is taken to be UTC already) and always read back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, *, sqlite_busy_timeout_s: float = 30.0, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite files get their folder, WAL, a busy timeout (how long a
    writer waits for another process's lock before "database is locked") and FKs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": sqlite_busy_timeout_s},
            **kwargs
        )
        busy_ms = int(sqlite_busy_timeout_s * 1000)
        event.listen(engine, "connect", lambda conn, record: _sqlite_pragmas(conn, busy_ms))
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # SELECT ... then UPDATE inside one unit of work is one serialisable transaction.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        _WRITE_TURNS[engine] = threading.RLock()
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


# SQLite has one writer at a time, and a connection that finds the lock taken polls for it with
# sleeps of up to 100 ms: under load a request can wait seconds behind back-to-back consumer
# transactions. Threads of one process therefore queue on an in-process lock first, which hands
# the database over as soon as the holder is done. PostgreSQL locks rows and needs none.
_WRITE_TURNS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


_INSERT = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}  # with ON CONFLICT


def insert_new(table: Table, dialect: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the primary key, on SQLite or PostgreSQL: a
    row returned was new, none means the key was there already (one statement, no lookup)."""
    return _INSERT[dialect](table).on_conflict_do_nothing().returning(
        *table.primary_key.columns)


def upsert(table: Table, dialect: str) -> Insert:
    """INSERT … ON CONFLICT (primary key) DO UPDATE SET every other column, on SQLite or
    PostgreSQL: one statement where ``Session.merge`` reads the row first."""
    statement = _INSERT[dialect](table)
    keys = [c.name for c in table.primary_key.columns]
    return statement.on_conflict_do_update(index_elements=keys, set_={
        c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys})


def write_turn(engine: Engine) -> AbstractContextManager[Any]:
    """Hold this around a transaction on ``engine``: a fair in-process queue on SQLite."""
    return _WRITE_TURNS.get(engine) or nullcontext()


# SQLite copies the WAL into the database, and syncs both, once the WAL holds this many pages
# (the library's default is 1,000). The commit that crosses it does the work, on a service's
# request path. With 10,000 (about 40 MB of WAL per service at most) POST /v1/orders answered
# 6-7 % more requests side by side, alone and in the whole system (bench/throughput.py).
WAL_AUTOCHECKPOINT_PAGES = 10_000


def _sqlite_pragmas(dbapi_connection: Any, busy_ms: int) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" listener control transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def run_migrations(url: str, migrations_dir: Path) -> None:
    """Bring the database at ``url`` to the newest revision of ``migrations_dir``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")
    logger.info("migrations applied", extra={"migrations": str(migrations_dir)})


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
