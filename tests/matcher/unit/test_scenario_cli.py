"""``sharefab scenario generate`` and ``sharefab solve-scenario`` through the typer app."""

from __future__ import annotations

import json
import math
from pathlib import Path

from typer.testing import CliRunner

from services.matcher.domain.scenario import from_scenario
from services.matcher.solver.generate import CENTRE, generate
from sharefab_cli.main import app

runner = CliRunner()


def test_generate_is_seeded_realistic_and_readable(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    r = runner.invoke(app, ["scenario", "generate", "--factories", "40", "--orders", "60",
                            "--seed", "4", "--out", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data == generate(factories=40, orders=60, seed=4)
    assert data != generate(factories=40, orders=60, seed=5)
    inst = from_scenario(data)
    assert len(inst.factories) == 40 and len(inst.orders) == 60
    km = [math.dist(CENTRE, (f.lat, f.lon)) * 111 for f in inst.factories]
    assert any(k > 60 for k in km) and sum(k < 60 for k in km) > 30
    assert {s.process for o in inst.orders for s in o.steps} >= {"cnc_milling", "heat_treatment"}
    assert any(len(o.steps) >= 3 and o.steps[1].after == (o.steps[0].id,) for o in inst.orders)
    stdout = runner.invoke(app, ["scenario", "generate", "--factories", "3", "--orders", "2"])
    assert json.loads(stdout.output)["name"] == "generated-3x2-seed0"


def test_solve_scenario_prints_design_json_and_repeats_in_deterministic_mode(
        tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(generate(factories=20, orders=40, seed=2)))
    args = ["solve-scenario", str(path), "--time-limit", "1", "--threads", "2", "--seed", "5",
            "--deterministic"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    a, b = json.loads(first.output), json.loads(second.output)
    assert {"scenario", "status", "objective", "bound", "wall_s", "allocations",
            "unplaced"} <= a.keys()
    assert a["status"] in ("optimal", "feasible") and a["bound"] <= a["objective"]
    assert a["allocations"] and set(a["allocations"][0]) == {"step_id", "window_id", "hours"}
    assert json.dumps(a["allocations"]) == json.dumps(b["allocations"])
    assert a["unplaced"] == b["unplaced"] and a["objective"] == b["objective"]


def test_bad_paths_and_bad_json_exit_2_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"orders": [')
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"orders": [{"id": "o1"}]}')
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    for path, words in ((tmp_path / "missing.json", "cannot read"),
                        (bad, "not valid JSON"), (wrong, "missing field"),
                        (listed, "one JSON object")):
        r = runner.invoke(app, ["solve-scenario", str(path)])
        assert r.exit_code == 2, r.output
        assert words in r.output and "Traceback" not in r.output
        assert not isinstance(r.exception, (KeyError, ValueError))
