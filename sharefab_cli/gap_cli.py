"""``sharefab solve-gap``: solve classic GAP benchmark files, one JSON line per instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True, highlight=False)


def solve_gap(
    path: Annotated[Path, typer.Argument(help="a GAP file: one instance, or OR-Library's P-problem "
                                              "file such as gapd.txt")],
    time_limit: Annotated[float, typer.Option(min=0.1, help="seconds per instance")] = 10.0,
    threads: Annotated[int, typer.Option(min=1, help="CP-SAT workers")] = 2,
    seed: Annotated[int | None, typer.Option(
        help="random seed; with it, runs use fixed work limits and repeat exactly")] = None,
) -> None:
    """Solve GAP instances (minimisation); print one JSON line per instance."""
    from services.matcher.solver import gap
    from services.matcher.solver.gap_data import GapFormatError, load

    try:
        instances = load(path)
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]cannot read {escape(str(path))}:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except GapFormatError as exc:
        err.print(f"[red]not a GAP file:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    for instance in instances:
        result = gap.solve(instance, time_limit=time_limit, threads=threads, seed=seed or 0,
                           deterministic=seed is not None)
        typer.echo(json.dumps(result.as_json(), separators=(",", ":")))
