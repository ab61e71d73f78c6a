"""``sharefab solve-scenario`` and ``sharefab scenario generate``: the matcher's optimiser on
scenario files (DESIGN §4), for benchmarks and operator what-if runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from services.matcher.domain.model import Instance
from services.matcher.domain.scenario import from_scenario
from services.matcher.solver.generate import generate
from services.matcher.solver.solve import SolveResult, SolverOptions, solve

err = Console(stderr=True, highlight=False)

scenario_app = typer.Typer(help="Synthetic scenarios for the matcher.", no_args_is_help=True)


def load_scenario(path: Path) -> Instance:
    """The scenario at ``path``; a clear message and exit code 2 if it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the file must hold one JSON object")
        return from_scenario(data)
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}", exc)
    except json.JSONDecodeError as exc:
        _fail(f"{path} is not valid JSON: {exc}", exc)
    except KeyError as exc:
        _fail(f"{path} is not a scenario: missing field {exc}", exc)
    except (TypeError, ValueError, AttributeError) as exc:
        _fail(f"{path} is not a scenario: {exc}", exc)
    raise AssertionError("unreachable")


def _fail(message: str, exc: BaseException) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2) from exc


def result_json(name: str, result: SolveResult) -> dict[str, Any]:
    plan = result.plan
    return {
        "scenario": name, "status": result.status, "objective": round(result.objective, 2),
        "bound": round(result.bound, 2), "gap": round(result.gap, 6),
        "wall_s": round(result.wall_s, 3),
        "greedy_objective": None if result.greedy_objective is None
        else round(result.greedy_objective, 2),
        "allocations": [{"step_id": a.step_id, "window_id": a.window_id, "hours": a.hours}
                        for a in plan.allocations],
        "unplaced": [{"step_id": u.step_id, "reason": u.reason} for u in plan.unplaced],
    }


def solve_scenario(
    path: Annotated[Path, typer.Argument(help="scenario JSON file (DESIGN §4)")],
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.01,
                                              help="seconds (deterministic units with "
                                                   "--deterministic)")] = 10.0,
    threads: Annotated[int, typer.Option(min=1, help="CP-SAT workers")] = 2,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    deterministic: Annotated[bool, typer.Option(
        "--deterministic", help="deterministic time budget: repeated runs give the same "
                                "allocations")] = False,
    gap_limit: Annotated[float, typer.Option(
        "--gap-limit", min=0.0, max=0.99,
        help="stop a component's search this close to its bound (0: prove optimality)")] = 0.001,
) -> None:
    """Solve a scenario file with the optimiser and print one JSON object."""
    instance = load_scenario(path)
    options = SolverOptions(time_limit_s=time_limit, threads=threads, seed=seed,
                            deterministic=deterministic, gap_limit=gap_limit)
    result = solve(instance, options)
    typer.echo(json.dumps(result_json(instance.name or path.stem, result)))


@scenario_app.command("generate")
def generate_scenario(
    factories: Annotated[int, typer.Option(min=1, help="factories in the cluster")] = 40,
    orders: Annotated[int, typer.Option(min=0, help="orders to place")] = 100,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same scenario)")] = 0,
    out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
) -> None:
    """Print (or write) a synthetic cluster scenario as JSON."""
    text = json.dumps(generate(factories=factories, orders=orders, seed=seed))
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}", exc)
