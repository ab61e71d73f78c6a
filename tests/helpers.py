"""Helpers for tests (``from tests.helpers import bearer``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from shared.audit import AuditEntry, AuditFilter
from shared.auth import Role, issue_token
from shared.db import make_engine, run_migrations
from shared.settings import DEFAULT_JWT_SECRET


class Clock:
    """A clock a test moves by hand (``clock.now += 30``); patch it in for ``time.time`` or
    ``time.monotonic`` where the code under test reads them."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_token(firm: str, role: Role | str, *clusters: str) -> str:
    return issue_token(DEFAULT_JWT_SECRET, firm_id=firm, role=role, clusters=list(clusters))


def bearer(firm: str, role: Role | str, *clusters: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(firm, role, *clusters)}"}


def alembic_config(database_url: str, migrations_dir: Path) -> Config:
    """Alembic's configuration for one service's migrations on ``database_url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def migrated_schema(database_url: str, migrations_dir: Path, *models: MetaData
                    ) -> tuple[list[list[Any]], set[str]]:
    """Apply a service's migrations, then compare the database with each of ``models``
    (alembic's ``compare_metadata``): the differences per model, and the tables there are."""
    run_migrations(database_url, migrations_dir)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diffs = [compare_metadata(MigrationContext.configure(conn), m) for m in models]
            return diffs, set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def diff_table(diff: tuple) -> str | None:  # type: ignore[type-arg]
    """The table an entry of alembic's ``compare_metadata`` is about."""
    if isinstance(diff, list):  # column changes come as a list of tuples
        diff = diff[0]
    kind, obj = diff[0], diff[1]
    if kind.endswith("_column") or kind.startswith("modify_"):  # (kind, schema, table, ...)
        return diff[2]
    table = obj if kind in ("remove_table", "add_table") else getattr(obj, "table", None)
    return None if table is None else table.name


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A Prometheus exposition as {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict, name: str, **labels: str) -> float | None:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))))


class FakeAuditLog:
    """The audit repository of the fake units of work: entries in a list."""

    def __init__(self, entries: list[AuditEntry] | None = None) -> None:
        self.entries = entries if entries is not None else []

    def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    def page(self, where: AuditFilter, *, before_id: int | None,
             limit: int) -> list[AuditEntry]:
        found = [e for n, e in reversed(list(enumerate(self.entries, start=1)))
                 if (before_id is None or n < before_id)
                 and all(v is None or getattr(e, k) == v for k, v in
                         (("actor", where.actor), ("action", where.action),
                          ("object_id", where.object_id)))]
        return found[:limit]


def documented_example(openapi: dict, method: str, path: str,
                       media: str = "application/json") -> Any:
    """The request-body example an OpenAPI document offers for ``method path`` ("Try it out"
    in /docs starts from it): the operation's own, else its schema's first."""
    content = openapi["paths"][path][method]["requestBody"]["content"][media]
    if "example" in content:
        return content["example"]
    ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
    return openapi["components"]["schemas"][ref]["examples"][0]
