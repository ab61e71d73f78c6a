"""Every SQLite connection a service opens gets the same settings: WAL, NORMAL sync, foreign
keys, the busy timeout, and checkpoints every WAL_AUTOCHECKPOINT_PAGES pages."""

from __future__ import annotations

from pathlib import Path

from shared.db import WAL_AUTOCHECKPOINT_PAGES, make_engine


def test_each_connection_gets_the_services_sqlite_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'service.db'}",
                         sqlite_busy_timeout_s=2.5)
    try:
        with engine.connect() as conn:
            def pragma(name: str) -> object:
                return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 1  # NORMAL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 2500
            assert pragma("wal_autocheckpoint") == WAL_AUTOCHECKPOINT_PAGES != 1000
    finally:
        engine.dispose()
