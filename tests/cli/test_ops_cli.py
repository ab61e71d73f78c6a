"""``sharefab stats``, ``match-runs`` and ``replay`` against a real matcher app and database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.matcher.bootstrap import create_app
from sharefab_cli.main import app
from tests.cli.apps import AppTransport
from tests.helpers import make_token
from tests.matcher import events as e
from tests.matcher.integration import stats_scenario as sc
from tests.matcher.integration.conftest import OPERATOR, feed, plan_now, settings_for
from tests.matcher.integration.test_replay import busy_cluster

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture
def matcher(database_url):  # type: ignore[no-untyped-def]
    settings = settings_for(database_url, solver_deterministic=True, solver_seed=3)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def t0():  # type: ignore[no-untyped-def]
    return e.default_t0()


def cli(client: TestClient, *args: str, columns: int = 160):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), obj=AppTransport(client),
                         env={"COLUMNS": str(columns)})


def row(output: str, label: str) -> str:
    """The value column of the summary row ``label``."""
    line = next(ln for ln in output.splitlines() if label in ln)
    return re.sub(r"\s+", " ", line.split(label, 1)[1]).strip(" │|")


def test_stats_shows_the_numbers_of_the_api(matcher, t0):  # type: ignore[no-untyped-def]
    sc.feed_scenario(matcher.app, t0, datetime.now(UTC))
    run = plan_now(matcher)
    feed(matcher.app, e.accepted(), e.completed())  # ord-1's only step, done on win-1
    ord2 = {"step_id": "stp-2", "window_id": "win-2", "order_id": "ord-2", "hours": 4.0}
    feed(matcher.app, e.accepted(**ord2), e.started(**ord2))  # ord-2's, under way
    result = cli(matcher, "stats", "--cluster", "qhd-auto", "--window", "1h")
    assert result.exit_code == 0, result.output
    api = matcher.get("/v1/stats", params={"cluster": "qhd-auto", "window": "1h"},
                      headers=OPERATOR).json()
    out = result.stdout
    assert "cluster qhd-auto, last 1h" in out
    assert row(out, "orders submitted") == str(api["orders_submitted"]) == "3"
    assert row(out, "steps placed") == "2" and row(out, "steps unplaced") == "1"
    assert row(out, "match rate") == "66.7 %"
    assert row(out, "utilisation") == f"{api['utilisation'] * 100:.1f} %"
    assert row(out, "SME share of placed hours").startswith("60.0 %")
    p50, p95, p99 = (api["latency"][k] for k in ("p50_s", "p95_s", "p99_s"))
    assert row(out, "order → proposal p50 / p95 / p99") == (
        f"{p50:.2f} s / {p95:.2f} s / {p99:.2f} s (n=2)")
    assert row(out, "work in production") == "1 step · 4.0 h"
    assert row(out, "work completed") == "1 order · 1 step · 6.0 h"
    assert row(out, "orders at risk") == (
        "0 orders · 0 steps · 0.0 h accepted")
    assert re.search(r"no_capable_machine\s*│\s*1", out)
    assert run["id"] in out  # the latest runs


def test_stats_shows_the_orders_at_risk(matcher, t0):  # type: ignore[no-untyped-def]
    sc.feed_scenario(matcher.app, t0, datetime.now(UTC))
    feed(matcher.app, e.order_submitted(t0, "ord-4", step_ids=("stp-4a", "stp-4b"), hours=2.0))
    plan_now(matcher)
    ord4 = {"order_id": "ord-4", "hours": 2.0}
    feed(matcher.app, e.accepted(step_id="stp-4a", **ord4), e.declined(step_id="stp-4b", **ord4))
    plan_now(matcher)  # the one mill window was declined: stp-4b unplaced
    result = cli(matcher, "stats")
    assert result.exit_code == 0, result.output
    assert row(result.stdout, "orders at risk") == (
        "1 order · 1 step · 2.0 h accepted")
    listed = cli(matcher, "at-risk", "--cluster", "qhd-auto")
    assert listed.exit_code == 0, listed.output
    due = f"{(t0 + timedelta(days=7)):%Y-%m-%d %H:%M}"
    assert listed.stdout.splitlines()[1:] == [
        "", f"ord-4  due {due}  buyer firm-b1",
        "  Brackets", "  0 of 2 steps done · accepted, not done: 1 step · 2.0 h",
        "  unplaced: k1 (capacity_taken)"]
    feed(matcher.app, e.cluster_created("elsewhere"))
    empty = cli(matcher, "at-risk", "--cluster", "elsewhere")
    assert empty.exit_code == 0 and "no orders at risk in cluster elsewhere" in empty.stdout


def test_stats_json_is_the_api_answer(matcher, t0):  # type: ignore[no-untyped-def]
    sc.feed_scenario(matcher.app, t0, datetime.now(UTC))
    plan_now(matcher)
    import json

    result = cli(matcher, "stats", "--json", "--window", "24h")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    api = matcher.get("/v1/stats", params={"window": "24h"}, headers=OPERATOR).json()
    assert {k: v for k, v in body.items() if k not in ("since", "until")} == {
        k: v for k, v in api.items() if k not in ("since", "until")}


def test_match_runs_lists_the_runs_newest_first(matcher, t0):  # type: ignore[no-untyped-def]
    feed(matcher.app, *busy_cluster(t0))
    first, second = plan_now(matcher), plan_now(matcher)
    result = cli(matcher, "match-runs", "--cluster", "qhd-auto", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.index(second["id"]) < result.stdout.index(first["id"])
    feed(matcher.app, e.cluster_created("elsewhere"))
    empty = cli(matcher, "match-runs", "--cluster", "elsewhere")
    assert empty.exit_code == 0 and "no match runs yet in cluster elsewhere" in empty.stdout


@pytest.mark.parametrize("command", [["match-runs"], ["stats"]])
def test_the_runs_fit_an_80_column_terminal(matcher, t0, command):  # type: ignore[no-untyped-def]
    feed(matcher.app, *busy_cluster(t0))
    runs = [plan_now(matcher) for _ in range(3)]
    result = cli(matcher, *command, columns=80)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout  # no cell cut short
    for run in runs:
        (line,) = [ln for ln in lines if run["id"] in ln]
        assert f"{run['placed_steps']} " in line and run["status"] in line
        assert run["started_at"][11:19] in line  # the time; the date is in the title
    assert f"in qhd-auto ({runs[0]['started_at'][:10]}, UTC)" in result.stdout


def test_replay_says_identical_or_shows_the_differences(matcher, t0):  # type: ignore[no-untyped-def]
    feed(matcher.app, *busy_cluster(t0))
    run = plan_now(matcher)
    result = cli(matcher, "replay", run["id"])
    assert result.exit_code == 0, result.output
    assert f"replay of {run['id']}: identical: yes" in result.stdout
    with matcher.app.state.runtime.engine.begin() as conn:  # as if the run had chosen otherwise
        conn.exec_driver_sql("UPDATE proposals SET window_id = 'win-x' WHERE step_id = 'stp-1'")
    result = cli(matcher, "replay", run["id"])
    assert "identical: no" in result.stdout
    assert re.search(r"stp-1\s*│\s*win-x", result.stdout)


def test_an_unknown_run_is_a_clear_error(matcher):  # type: ignore[no-untyped-def]
    result = cli(matcher, "replay", "run_nope")
    assert result.exit_code == 1
    assert "matcher answered 404" in result.stderr and "run_nope" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_window_names_the_field(matcher):  # type: ignore[no-untyped-def]
    result = cli(matcher, "stats", "--window", "soon")
    assert result.exit_code == 1
    assert "matcher answered 422" in result.stderr and "(query.window)" in result.stderr
    assert result.stderr.count("'soon' is not a number") == 1  # the detail, not repeated


@pytest.mark.parametrize("command", ["stats", "match-runs", "at-risk"])
def test_an_unknown_cluster_is_a_clear_error(matcher, command):  # type: ignore[no-untyped-def]
    result = cli(matcher, command, "--cluster", "qhd-autp")
    assert result.exit_code == 1
    assert "matcher answered 422" in result.stderr and "qhd-autp" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["stats"], ["match-runs"], ["at-risk"],
                                     ["replay", "run_x"]])
def test_a_refused_token_is_a_clear_error(matcher, command):  # type: ignore[no-untyped-def]
    result = cli(matcher, *command, "--token", "not-a-token")
    assert result.exit_code == 1
    assert "refused the token (401" in result.stderr
    assert "sharefab token --firm platform --role operator" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["stats"], ["match-runs"], ["at-risk"],
                                     ["replay", "run_x"]])
def test_a_buyer_token_is_told_it_needs_an_operator(matcher, command):  # type: ignore[no-untyped-def]
    buyer = make_token("firm-b1", "buyer", "qhd-auto")
    result = cli(matcher, *command, "--token", buyer)
    assert result.exit_code == 1
    assert "(403" in result.stderr and "operator token" in result.stderr
