"""``sharefab`` — the project's command line (typer)."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from shared.auth import Role, issue_token
from shared.settings import ServiceSettings
from sharefab_cli import demo, dlq_cli, gap_cli, ops_cli, outbox_cli, scenario_cli
from sharefab_cli.ops_client import DEFAULT_URLS
from sharefab_cli.stack import SERVICES, LocalStack, StackConfig, StackError

app = typer.Typer(help="sharefab: shared manufacturing for industrial clusters.",
                  no_args_is_help=True, add_completion=False)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

COLOURS = {"broker": "magenta", "orders": "cyan", "capacity": "green", "matcher": "yellow"}


def _settings() -> ServiceSettings:
    try:
        return ServiceSettings()
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


@app.command()
def token(
    firm: Annotated[str, typer.Option(help="firm id (the token's `sub`)")],
    role: Annotated[Role, typer.Option(help="buyer, supplier or operator")],
    cluster: Annotated[
        list[str] | None, typer.Option(help="cluster the firm may use (repeat)")
    ] = None,
    ttl_hours: Annotated[float, typer.Option(min=0.01, help="validity in hours")] = 12.0,
) -> None:
    """Print a bearer token signed with JWT_SECRET."""
    settings = _settings()
    typer.echo(issue_token(settings.jwt_secret, firm_id=firm, role=role, clusters=cluster or [],
                           ttl=timedelta(hours=ttl_hours)))


def demo_tokens(secret: str, cluster: str = "qhd-auto") -> dict[str, str]:
    """The walk-through's three tokens: operator, supplier firm-s1 and buyer firm-b1."""
    return {
        "OP": issue_token(secret, firm_id="platform", role=Role.OPERATOR),
        "SUP": issue_token(secret, firm_id="firm-s1", role=Role.SUPPLIER, clusters=[cluster]),
        "BUY": issue_token(secret, firm_id="firm-b1", role=Role.BUYER, clusters=[cluster]),
    }


@app.command()
def run(
    broker_port: Annotated[int, typer.Option(envvar="SHAREFAB_BROKER_PORT")] = 19092,
    orders_port: Annotated[int, typer.Option(envvar="SHAREFAB_ORDERS_PORT")] = 8001,
    capacity_port: Annotated[int, typer.Option(envvar="SHAREFAB_CAPACITY_PORT")] = 8002,
    matcher_port: Annotated[int, typer.Option(envvar="SHAREFAB_MATCHER_PORT")] = 8003,
    var_dir: Annotated[Path, typer.Option(help="where the SQLite databases live")] = Path("var"),
) -> None:
    """Start a local broker and the three services; Ctrl-C stops everything started."""
    settings = _settings()
    config = StackConfig(
        broker_port=broker_port,
        ports={"orders": orders_port, "capacity": capacity_port, "matcher": matcher_port},
        var_dir=var_dir,
    )

    stack = LocalStack(config, sink=_service_line)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    # Ctrl-C stops everything, also when started from a script that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        console.print(f"[bold]starting broker[/bold] (Tansu) on {config.bootstrap}")
        stack.start_broker()
        for service in SERVICES:
            stack.start_service(service)
        stack.wait_ready()
        _print_welcome(config, demo_tokens(settings.jwt_secret))
        while not stopping.is_set():
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    err.print(f"[red]{name} exited with code {proc.returncode}; stopping[/red]")
                    stopping.set()
            stopping.wait(0.5)
    except StackError as exc:
        err.print(f"[red]could not start:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        pass
    finally:
        console.print("[bold]stopping[/bold] services and broker …")
        stack.stop()


def _service_line(name: str, line: str) -> None:
    """One line a service logged, behind its name. Never broken by rich: the terminal wraps it
    for the eye, and in a file (``make run > run.log``) each log line stays one line."""
    colour = COLOURS.get(name, "white")
    console.print(f"[{colour}]{name:>8} |[/{colour}] {escape(line)}", soft_wrap=True)


def _print_welcome(config: StackConfig, tokens: dict[str, str]) -> None:
    console.rule("[bold]sharefab is running")
    for service in SERVICES:
        console.print(f"  {service:<9} {config.url(service)}   docs: {config.url(service)}/docs")
    console.print(f"  broker    {config.bootstrap} (Kafka protocol)")
    console.print("\nDemo tokens (paste into another shell):")
    for name, value in tokens.items():
        console.print(f"export {name}={value}", soft_wrap=True)

    def command(name: str, *services: str) -> None:  # URLs other than the CLI's defaults
        urls = "".join(f" --{s}-url {config.url(s)}" for s in services
                       if config.url(s) != DEFAULT_URLS[s])
        console.print(f"  .venv/bin/sharefab {name}{urls}", soft_wrap=True)

    console.print("\nWalk-through (README.md § 'Walk-through'): create a cluster, a factory, a "
                  "machine and an idle window, place an order, accept the hold and show the "
                  "order allocated:")
    command("walkthrough", *SERVICES)
    console.print("A demo cluster with a stream of orders, then the operator's view:")
    command("demo", *SERVICES)
    command("stats", "matcher")
    command("match-runs", "matcher")
    command("at-risk", "matcher")
    console.print(f"  dashboard: {config.url('matcher')}/dashboard (sign in with $OP)")
    console.print("\nPress Ctrl-C to stop everything.")
    console.rule()


@app.command()
def topics(
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:19092",
    partitions: Annotated[int, typer.Option(envvar="KAFKA_TOPIC_PARTITIONS")] = 6,
) -> None:
    """Create the event topics and their dead-letter topics (existing ones are left alone)."""
    from shared.messaging.producer import ensure_topics

    try:
        created = ensure_topics(bootstrap.split(","), partitions=partitions)
    except Exception as exc:
        err.print(f"[red]broker {bootstrap} not reachable:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    console.print(f"created: {', '.join(created) or 'nothing (all exist)'}")


@app.command()
def migrate(
    service: Annotated[list[str] | None, typer.Option(help="only these services (repeat)")] = None,
) -> None:
    """Apply each service's migrations to its configured database (<SERVICE>_DATABASE_URL)."""
    import importlib

    from shared.db import run_migrations

    for name in service or SERVICES:
        if name not in SERVICES:
            err.print(f"[red]unknown service {name!r}[/red]; choose from {', '.join(SERVICES)}")
            raise typer.Exit(2)
        settings = importlib.import_module(f"services.{name}.config").Settings()
        package = importlib.import_module(f"services.{name}")
        run_migrations(settings.database_url, Path(package.__file__).parent / "migrations")
        console.print(f"{name}: migrated {settings.database_url}")


@app.command()
def walkthrough(
    orders_url: Annotated[str, typer.Option()] = DEFAULT_URLS["orders"],
    capacity_url: Annotated[str, typer.Option()] = DEFAULT_URLS["capacity"],
    matcher_url: Annotated[str, typer.Option()] = DEFAULT_URLS["matcher"],
    cluster: Annotated[str, typer.Option(help="cluster id to create or reuse")] = "qhd-auto",
    orders: Annotated[
        int, typer.Option(min=1, max=50, help="orders to place one after another")
    ] = 1,
) -> None:
    """Drive the README walk-through against running services and report its timings."""
    import statistics

    import httpx

    from sharefab_cli.walkthrough import Endpoints, Walkthrough, WalkthroughError

    settings = _settings()
    tokens = demo_tokens(settings.jwt_secret, cluster)
    walk = Walkthrough(Endpoints(orders_url, capacity_url, matcher_url), tokens, cluster_id=cluster)
    try:
        walk.setup(window_hours=max(20.0, 6.0 * orders + 1))
        results = []
        for _ in range(orders):
            result = walk.run()
            results.append(result)
            step = result.final_order["steps"][0]
            console.print(
                f"order {result.order_id}: held after {result.order_to_held_s:.2f} s, "
                f"allocated to {step['allocation']['factory_name']} "
                f"({result.accept_to_allocated_s:.2f} s after acceptance)")
    except httpx.HTTPError as exc:
        err.print(f"[red]a service is not reachable:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except WalkthroughError as exc:
        err.print(f"[red]walk-through failed:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    median = statistics.median(r.order_to_held_s for r in results)
    console.print(f"median order POST → reservation held: {median:.3f} s over {len(results)}")


app.command("solve-gap")(gap_cli.solve_gap)
app.command("solve-scenario")(scenario_cli.solve_scenario)
app.add_typer(scenario_cli.scenario_app, name="scenario")
app.add_typer(dlq_cli.dlq_app, name="dlq")
app.command("replay-outbox")(outbox_cli.replay_outbox)
ops_cli.register(app)  # stats, match-runs, at-risk, replay
app.command()(demo.demo)

if __name__ == "__main__":
    app()
