"""What ``sharefab run`` prints once the stack is up: commands a user can paste as they are."""

from __future__ import annotations

import io
import shlex

import pytest
from rich.console import Console
from typer.main import get_command

from sharefab_cli import main
from sharefab_cli.main import app
from sharefab_cli.stack import StackConfig


def welcome(monkeypatch: pytest.MonkeyPatch, ports: dict[str, int]) -> str:
    out = io.StringIO()
    monkeypatch.setattr(main, "console", Console(file=out, width=80, highlight=False))
    main._print_welcome(StackConfig(ports=ports), {"OP": "x" * 200})
    return out.getvalue()


def commands(text: str) -> dict[str, list[str]]:
    found = {}
    for line in text.splitlines():
        if line.strip().startswith(".venv/bin/sharefab "):
            args = shlex.split(line)[1:]
            found[args[0]] = args
    return found


def test_with_the_default_ports_the_commands_need_no_urls(monkeypatch):  # type: ignore[no-untyped-def]
    text = welcome(monkeypatch, {"orders": 8001, "capacity": 8002, "matcher": 8003})
    assert commands(text) == {name: [name] for name in (
        "walkthrough", "demo", "stats", "match-runs", "at-risk")}
    assert "http://127.0.0.1:8003/dashboard" in text
    assert f"export OP={'x' * 200}" in text  # one line, however narrow the terminal


def test_other_ports_are_passed_to_each_command_that_takes_them(monkeypatch):  # type: ignore[no-untyped-def]
    text = welcome(monkeypatch, {"orders": 9101, "capacity": 8002, "matcher": 9103})
    found = commands(text)
    urls = ["--orders-url", "http://127.0.0.1:9101", "--matcher-url", "http://127.0.0.1:9103"]
    assert found["walkthrough"] == ["walkthrough", *urls]
    assert found["demo"] == ["demo", *urls]
    assert found["stats"] == ["stats", "--matcher-url", "http://127.0.0.1:9103"]
    group = get_command(app)
    for name, *options in found.values():  # every printed command line parses
        parent = group.make_context("sharefab", [name, *options])
        command = group.get_command(parent, name)  # type: ignore[attr-defined]
        assert command is not None, name
        command.make_context(name, list(options), parent=parent)  # raises on a bad option


def test_a_service_log_line_stays_one_line_behind_its_name(monkeypatch):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr(main, "console", Console(file=out, width=80, highlight=False))
    line = ("2026-12-04 23:56:43,240 INFO alembic.runtime.migration [-] Running upgrade "
            "0004_order_times -> 0005_consumer_topics, [the broker's id] of each topic")
    main._service_line("matcher", line)
    assert out.getvalue() == f" matcher | {line}\n"  # a file gets whole lines to grep
