"""``sharefab demo`` seeds a cluster into the running system and streams orders; then
``sharefab stats``, ``at-risk``, ``match-runs`` and ``replay`` read what happened."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from sharefab_cli.main import app
from sharefab_cli.stack import SERVICES

pytestmark = pytest.mark.system
runner = CliRunner()


def cell(output: str, label: str) -> str:
    line = next(ln for ln in output.splitlines() if f"│ {label} " in ln)
    return line.split("│")[2].strip()


def test_demo_then_the_operator_commands(stack):  # type: ignore[no-untyped-def]
    urls = [a for s in SERVICES for a in (f"--{s}-url", stack.config.url(s))]
    env = {"COLUMNS": "200"}
    demo = runner.invoke(app, ["demo", *urls, "--cluster", "demo-c", "--factories", "12",
                               "--orders", "30", "--rate", "25", "--settle", "90",
                               "--accept", "1", "--complete", "0.5"], env=env)
    assert demo.exit_code == 0, demo.output
    assert re.search(r"cluster demo-c: 12 factories, \d+ machines, \d+ idle windows", demo.stdout)
    assert cell(demo.stdout, "orders sent / accepted") == "30 / 30"
    assert "orders submitted" not in demo.stdout  # every order planned within --settle
    assert re.search(r"order → proposal p50 / p95 / p99\s*│\s*\d+\.\d\d s /", demo.stdout)
    accepted, declined = map(int, cell(demo.stdout, "holds accepted / declined").split(" / "))
    assert accepted > 0 and declined == 0  # --accept 1
    done, steps_done = map(int, cell(demo.stdout, "work reported done (orders / steps)")
                           .split(" / "))
    under_way, steps_started = map(int, cell(
        demo.stdout, "work under way (orders / steps started)").split(" / "))
    # --complete 0.5: the first half (rounded up) of the wholly accepted orders done, the
    # others' first steps started
    assert 0 < done <= steps_done and done - 1 <= under_way <= done
    assert under_way <= steps_started and steps_done + steps_started <= accepted
    assert int(cell(demo.stdout, "  orders completed")) == done  # as the orders service says
    shown_under_way = cell(demo.stdout, "  orders in_production") if under_way else "0"
    assert int(shown_under_way) == under_way

    matcher = ["--matcher-url", stack.config.url("matcher")]
    stats = runner.invoke(app, ["stats", "--cluster", "demo-c", *matcher], env=env)
    assert stats.exit_code == 0, stats.output
    assert cell(stats.stdout, "orders submitted") == "30"
    assert int(cell(stats.stdout, "steps placed")) > 0
    assert re.fullmatch(r"\d+ orders? · \d+ steps? · [\d.,]+ h",
                        cell(stats.stdout, "work completed"))
    assert re.fullmatch(r"\d+ steps? · [\d.,]+ h", cell(stats.stdout, "work in production"))
    # --accept 1: no supplier declined, so no order has an accepted step beside an unplaced one
    assert cell(stats.stdout, "orders at risk") == "0 orders · 0 steps · 0.0 h accepted"
    at_risk = runner.invoke(app, ["at-risk", "--cluster", "demo-c", *matcher], env=env)
    assert at_risk.exit_code == 0 and "no orders at risk in cluster demo-c" in at_risk.stdout

    runs = runner.invoke(app, ["match-runs", "--cluster", "demo-c", *matcher], env=env)
    assert runs.exit_code == 0, runs.output
    run_id = re.search(r"\b(run_[0-9a-f]+)\b", runs.stdout).group(1)  # type: ignore[union-attr]
    replay = runner.invoke(app, ["replay", run_id, *matcher], env=env)
    assert replay.exit_code == 0, replay.output
    assert re.search(rf"replay of {run_id}: identical: (yes|no)", replay.stdout)
