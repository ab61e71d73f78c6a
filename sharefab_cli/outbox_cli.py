"""``sharefab replay-outbox``: re-publish each service's outbox after a broker loss.

The command reaches each service's own database exactly as the service does, through its
settings (``<SERVICE>_DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``), and only reads it.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sharefab_cli.stack import SERVICES

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        err.print(f"[red]{option} {escape(value)!r} is not an ISO-8601 time[/red] "
                  "(e.g. 2026-12-01T08:00:00Z)")
        raise typer.Exit(2) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def replay_outbox(
    since: Annotated[str, typer.Option(help="re-publish events created at or after this UTC "
                                             "time (ISO-8601)")],
    service: Annotated[list[str] | None, typer.Option(
        help="only these services (repeat); default: all three")] = None,
    until: Annotated[str | None, typer.Option(help="and before this time")] = None,
) -> None:
    """Re-publish the events each service's outbox holds since a moment (after a broker loss).

    Consumers recognise events they applied already (inbox) and change nothing; the rest are
    applied as if they had just arrived.
    """
    from shared.db import make_engine
    from shared.messaging.outbox_replay import replay_outbox as replay
    from shared.messaging.producer import Producer, broker_reachable, ensure_topics

    start = _moment(since, "--since")
    end = _moment(until, "--until") if until else None
    names = service or list(SERVICES)
    for name in names:
        if name not in SERVICES:
            err.print(f"[red]unknown service {escape(name)!r}[/red]; choose from "
                      f"{', '.join(SERVICES)}")
            raise typer.Exit(2)
    table = Table("service", "database", "events re-published", "first", "last")
    failed = False
    for name in names:
        try:
            settings = importlib.import_module(f"services.{name}.config").Settings()
        except ValueError as exc:
            err.print(f"[red]{name}: configuration error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc
        if not broker_reachable(settings.bootstrap_servers):
            err.print(f"[red]broker {escape(settings.kafka_bootstrap_servers)} not reachable"
                      "[/red] (set KAFKA_BOOTSTRAP_SERVERS)")
            raise typer.Exit(1)
        engine = make_engine(settings.database_url)
        producer = Producer(settings)
        try:
            ensure_topics(settings.bootstrap_servers, partitions=settings.kafka_topic_partitions,
                          replication_factor=settings.kafka_replication_factor)
            result = replay(engine, producer.send_batch, since=start, until=end)
        except Exception as exc:  # an operator command: a clear line, no traceback
            err.print(f"[red]{name}: replay failed:[/red] {type(exc).__name__}: "
                      f"{escape(str(exc).splitlines()[0] if str(exc) else '')}")
            failed = True
            continue
        finally:
            producer.close()
            engine.dispose()
        table.add_row(name, escape(engine.url.render_as_string(hide_password=True)),
                      str(result.events), _fmt(result.first_at), _fmt(result.last_at))
    console.print(table)
    if failed:
        raise typer.Exit(1)


def _fmt(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")
