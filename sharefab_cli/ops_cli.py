"""The operator's terminal view: ``sharefab stats``, ``sharefab match-runs``, ``sharefab replay``.

Each command reads the matcher's operator API (``GET /v1/stats``, ``GET /v1/match-runs``,
``POST /v1/match-runs/{id}/replay``) with ``--token`` or an operator token minted with
JWT_SECRET, and renders rich tables. A service that is down or a refused token is one red
sentence on stderr and exit code 1 (2 for bad configuration)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sharefab_cli.ops_client import DEFAULT_URLS, OpsError, ServiceClient, operator_token

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

MatcherUrl = Annotated[str, typer.Option("--matcher-url", envvar="SHAREFAB_MATCHER_URL",
                                         help="the matcher's base URL")]
Token = Annotated[str | None, typer.Option(
    "--token", envvar="SHAREFAB_TOKEN", show_default=False,
    help="operator bearer token (default: one minted with JWT_SECRET)")]
Cluster = Annotated[str | None, typer.Option("--cluster", help="one cluster (default: all)")]


@contextmanager
def reported() -> Iterator[None]:
    """Turn an OpsError into a red sentence and its exit code."""
    try:
        yield
    except OpsError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(exc.exit_code) from exc


def client(ctx: typer.Context, service: str, url: str, token: str) -> ServiceClient:
    """Tests pass an httpx transport as the context object (``CliRunner.invoke(obj=...)``)."""
    transport = ctx.obj if isinstance(ctx.obj, httpx.BaseTransport) else None
    return ServiceClient(service, url, token, transport=transport)


def stats(ctx: typer.Context, cluster: Cluster = None,
          window: Annotated[str, typer.Option(help="15m, 1h, 24h, 7d … (<n>s|m|h|d)")] = "1h",
          matcher_url: MatcherUrl = DEFAULT_URLS["matcher"], token: Token = None,
          as_json: Annotated[bool, typer.Option("--json", help="print the raw JSON")] = False,
          ) -> None:
    """Demand and matching over a window: the matcher's GET /v1/stats as tables."""
    with reported():
        body = client(ctx, "matcher", matcher_url, operator_token(token)).get(
            "/v1/stats", cluster=cluster, window=window)
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    for table in stats_tables(body):
        console.print(table)


def stats_tables(s: dict[str, Any]) -> list[Table]:
    where = f"cluster {s['cluster_id']}" if s.get("cluster_id") else "all clusters"
    summary = Table(title=f"sharefab stats — {where}, last {s['window']}",
                    caption=f"{_when(s['since'])} → {_when(s['until'])} UTC",
                    show_header=False, title_justify="left")
    summary.add_column("metric", style="bold")
    summary.add_column("value", justify="right")
    lat = s["latency"]
    rows: list[tuple[str, str]] = [
        ("orders submitted", f"{s['orders_submitted']:,}"),
        ("orders / min", f"{s['orders_per_min']:.2f}"),
        ("steps placed", f"{s['steps_placed']:,}"),
        ("steps unplaced", f"{s['steps_unplaced']:,}"),
        ("match rate", _pct(s["match_rate"])),
        ("order → proposal p50 / p95 / p99",
         " / ".join(_secs(lat[k]) for k in ("p50_s", "p95_s", "p99_s")) + f"  (n={lat['count']})"),
        ("idle hours offered", f"{s['offered_hours']:,.1f} h"),
        ("hours placed", f"{s['placed_hours']:,.1f} h"),
        ("utilisation", _pct(s["utilisation"])),
        ("SME share of placed hours", f"{_pct(s['sme_share'])}  ({s['sme_hours']:,.1f} h)"),
        ("mean transport", "—" if s["mean_transport_km"] is None
         else f"{s['mean_transport_km']:.1f} km"),
        ("match runs", f"{s['match_runs_total']:,}"),
        ("work in production", f"{_count(s['steps_in_production'], 'step')} · "
         f"{s['in_production_hours']:,.1f} h"),
        ("orders at risk",
         f"{_count(s['orders_at_risk'], 'order')} · {_count(s['steps_at_risk'], 'step')} · "
         f"{s['at_risk_hours']:,.1f} h accepted"),
        ("work completed", f"{_count(s['orders_completed'], 'order')} · "
         f"{_count(s['steps_completed'], 'step')} · {s['completed_hours']:,.1f} h"),
    ]
    for name, value in rows:
        summary.add_row(name, value)
    tables = [summary]
    if s["unplaced_reasons"]:
        reasons = Table(title="unplaced steps by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("steps", justify="right")
        for reason, n in sorted(s["unplaced_reasons"].items(), key=lambda kv: (-kv[1], kv[0])):
            reasons.add_row(reason, f"{n:,}")
        tables.append(reasons)
    if s["match_runs"]:
        tables.append(runs_table(s["match_runs"], title="latest match runs"))
    return tables


def match_runs(ctx: typer.Context, cluster: Cluster = None,
               limit: Annotated[int, typer.Option(min=1, max=200, help="runs to show")] = 20,
               matcher_url: MatcherUrl = DEFAULT_URLS["matcher"], token: Token = None) -> None:
    """Match runs, newest first (GET /v1/match-runs)."""
    page = _listed(ctx, matcher_url, token, "/v1/match-runs", nothing="no match runs yet",
                   in_cluster=cluster, cluster_id=cluster, limit=limit)
    if page is not None:
        console.print(runs_table(page["items"], title="match runs, newest first",
                                 objective=True))


def at_risk(ctx: typer.Context, cluster: Cluster = None,
            limit: Annotated[int, typer.Option(min=1, max=200, help="orders to show")] = 20,
            matcher_url: MatcherUrl = DEFAULT_URLS["matcher"], token: Token = None) -> None:
    """Orders with a step accepted and another unplaced, soonest due first
    (GET /v1/orders-at-risk): suppliers hold hours for them, and their buyers can revise or
    cancel."""
    page = _listed(ctx, matcher_url, token, "/v1/orders-at-risk", nothing="no orders at risk",
                   in_cluster=cluster, cluster=cluster, limit=limit)
    if page is None:
        return
    console.print("[bold]orders at risk[/bold], soonest due first (times UTC)")
    for o in page["items"]:  # a record each: an order id is never cut short to fit a column
        console.print(f"\n{o['order_id']}  due {_when(o['due'])[:16]}  "
                      f"buyer {escape(o['buyer_firm_id'])}", soft_wrap=True)
        console.print(f"  {escape(o['title'])}")
        console.print(f"  {o['steps_completed']} of {o['steps']} steps done · accepted, not "
                      f"done: {_count(o['steps_at_risk'], 'step')} · "
                      f"{o['at_risk_hours']:,.1f} h")
        console.print("  unplaced: " + ", ".join(
            f"{escape(u['key'])} ({u['reason']})" for u in o["unplaced"]))
    if page["next_cursor"]:
        console.print(f"more than {limit}: --limit {min(200, 2 * limit)} shows more")


def _listed(ctx: typer.Context, matcher_url: str, token: str | None, path: str, *,
            nothing: str, in_cluster: str | None, **params: Any) -> dict[str, Any] | None:
    """The first page of the matcher's list ``path`` (query ``params``); None, having printed
    ``nothing`` (in ``in_cluster``), when it is empty."""
    with reported():
        page = client(ctx, "matcher", matcher_url, operator_token(token)).get(path, **params)
    if not page["items"]:
        console.print(nothing + (f" in cluster {in_cluster}" if in_cluster else ""))
        return None
    return page


def runs_table(runs: list[dict[str, Any]], *, title: str, objective: bool = False,
               width: int | None = None) -> Table:
    """The runs as a table that fits ``width`` columns (default: the terminal's) where it can:
    a cluster or a date shared by every run goes into the title instead of a column, and when
    the table is still too wide its columns close up and the objective is abbreviated (3.03M)
    rather than any cell being cut short (rich would cut them all)."""
    table = _runs_table(runs, title=title, objective=objective, tight=False)
    width = width or console.width
    if console.measure(table, options=console.options.update_width(4 * width)).maximum > width:
        table = _runs_table(runs, title=title, objective=objective, tight=True)
    return table


def _runs_table(runs: list[dict[str, Any]], *, title: str, objective: bool,
                tight: bool) -> Table:
    clusters = {r["cluster_id"] for r in runs}
    days = {_when(r["started_at"])[:10] for r in runs}
    one_cluster, one_day = len(clusters) == 1, len(days) == 1
    where = f" in {next(iter(clusters))}" if one_cluster else ""
    when = f"{next(iter(days))}, UTC" if one_day else "times UTC"
    table = Table(title=f"{title}{where} ({when})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False, collapse_padding=True,
                  padding=(0, 0) if tight else (0, 1))
    columns: list[tuple[str, Callable[[dict[str, Any]], str]]] = [("id", lambda r: r["id"])]
    if not one_cluster:
        columns.append(("cluster", lambda r: r["cluster_id"]))
    columns += [
        ("trigger", lambda r: r["trigger"]), ("status", lambda r: r["status"]),
        ("placed", lambda r: str(r["placed_steps"])),
        ("unpl.", lambda r: str(r["unplaced_steps"])),
    ]
    if objective:
        columns.append(("obj." if tight else "objective",
                        lambda r: _amount(r.get("objective"), short=tight)))
    columns += [("gap", lambda r: _pct(r.get("gap"), digits=2).replace(" ", "")),
                ("wall", lambda r: f"{r['wall_s']:.2f}s"),
                ("started", lambda r: _when(r["started_at"])[11 if one_day else 5:])]
    for name, _ in columns:
        table.add_column(name, no_wrap=True, justify="left" if name in (
            "id", "cluster", "trigger", "status", "started") else "right")
    for run in runs:
        table.add_row(*(cell(run) for _, cell in columns))
    return table


def _amount(value: float | None, *, short: bool) -> str:
    if value is None:
        return "—"
    if short and abs(value) >= 1e6:
        return f"{value / 1e6:.2f}M"
    if short and abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


def replay(ctx: typer.Context,
           run_id: Annotated[str, typer.Argument(help="a match run id (see match-runs)")],
           matcher_url: MatcherUrl = DEFAULT_URLS["matcher"], token: Token = None) -> None:
    """Solve a match run's stored input again and say whether the result is identical."""
    with reported():
        body = client(ctx, "matcher", matcher_url, operator_token(token)).post(
            f"/v1/match-runs/{run_id}/replay")
    same = body["identical"]
    console.print(f"replay of {body['match_run_id']}: identical: "
                  + ("[green]yes[/green]" if same else "[red]no[/red]"))
    original = body["original_objective"]
    console.print(f"objective {body['objective']:,.2f} (original "
                  f"{'—' if original is None else f'{original:,.2f}'})")
    if not body["original_deterministic"]:
        console.print("[yellow]the run was solved against the wall clock "
                      "(not deterministic): a replay may legitimately differ[/yellow]")
    if body["differences"]:
        table = Table(title="steps placed differently", title_justify="left")
        for name in ("step", "original window", "replayed window"):
            table.add_column(name)
        for d in body["differences"]:
            table.add_row(d["step_id"], d["original_window_id"] or "unplaced",
                          d["replayed_window_id"] or "unplaced")
        console.print(table)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _pct(value: float | None, *, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _when(text: str) -> str:
    return text.replace("T", " ")[:19]


def register(app: typer.Typer) -> None:
    app.command()(stats)
    app.command("match-runs")(match_runs)
    app.command("at-risk")(at_risk)
    app.command()(replay)
