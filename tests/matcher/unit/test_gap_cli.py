"""``sharefab solve-gap`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sharefab_cli.main import app

runner = CliRunner()
ONE = "2 3\n1 2 5 4 9 1\n4 3 1 2 2 1\n5 4\n"   # the hand-checked instance: optimum 7


def test_prints_one_json_line_per_instance(tmp_path: Path) -> None:
    path = tmp_path / "one.gap"
    path.write_text(ONE)
    result = runner.invoke(app, ["solve-gap", str(path), "--time-limit", "2", "--threads", "1"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert data == {"instance": "one.gap", "m": 2, "n": 3, "status": "optimal", "objective": 7,
                    "bound": 7, "wall_s": data["wall_s"], "assignment": [1, 0, 1]}


def test_multi_problem_file_names_problems_by_index(tmp_path: Path) -> None:
    path = tmp_path / "gapx.txt"
    path.write_text("2\n" + ONE + "1 1 3 1 2\n")
    result = runner.invoke(app, ["solve-gap", str(path), "--time-limit", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["instance"] for d in lines] == ["gapx.txt#1", "gapx.txt#2"]
    assert lines[1]["assignment"] == [0] and lines[1]["objective"] == 3


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve-gap", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "cannot read" in result.output
    assert "Traceback" not in result.output


def test_malformed_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.gap"
    path.write_text("2 3 1 2 3")
    result = runner.invoke(app, ["solve-gap", str(path)])
    assert result.exit_code == 2
    assert "not a GAP file" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
