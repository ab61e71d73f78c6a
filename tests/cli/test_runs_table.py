"""The match-runs table: what goes into the title, and how it closes up in a narrow terminal."""

from __future__ import annotations

import io

from rich.console import Console

from sharefab_cli.ops_cli import runs_table


def run(n: int, *, cluster: str = "qhd-auto", day: str = "2026-12-04",
        objective: float = 3_032_410.3) -> dict[str, object]:
    return {"id": f"run_{n:016x}", "cluster_id": cluster, "trigger": "batch_full",
            "status": "feasible", "placed_steps": 43, "unplaced_steps": 10,
            "objective": objective, "gap": 0.000115, "wall_s": 0.0804,
            "started_at": f"{day}T22:30:0{n}.111514Z"}


def shown(runs: list[dict[str, object]], width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(runs_table(runs, title="match runs", objective=True, width=width))
    return console.export_text()


def test_a_wide_terminal_gets_every_column_in_full():
    text = shown([run(1), run(2, objective=607_721.94)], width=160)
    assert "match runs in qhd-auto (2026-12-04, UTC)" in text
    assert "objective" in text and "3,032,410" in text and "607,722" in text
    assert "cluster" not in text.splitlines()[1]  # one cluster: in the title, not a column
    assert "22:30:01" in text and "12-04 22:30" not in text


def test_an_80_column_terminal_closes_up_and_abbreviates_the_objective():
    text = shown([run(1), run(2, objective=607_721.94)], width=80)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80 and "…" not in text
    assert "3.03M" in text and "608k" in text and "obj." in text
    assert "run_0000000000000001" in text and "0.01%" in text


def test_runs_of_several_clusters_and_days_name_them_on_each_row():
    text = shown([run(1, cluster="qhd-auto"), run(2, cluster="tj-mould", day="2026-12-03")],
                 width=160)
    header = text.splitlines()[1]
    assert "cluster" in header and "times UTC" in text.splitlines()[0]
    assert "tj-mould" in text and "12-03 22:30:02" in text and "12-04 22:30:01" in text
