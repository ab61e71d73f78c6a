"""How ``sharefab dlq list`` shows a dead letter: whole, at any terminal width."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from sharefab_cli.dlq_cli import DeadLetter, letter_lines

ERROR = ("ValidationError: 1 validation error for OrderSubmitted steps.0.hours Input should be "
         "greater than 0 [type=greater_than, input_value=-1]")


def shown(letter: DeadLetter, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(*letter_lines(letter))
    return console.export_text()


def letter(error: str = ERROR, value: bytes = b'{"type": "order.submitted", "version": 1}',
           ) -> DeadLetter:
    return DeadLetter(id="capacity.v1.dlq:5:1234", source_topic="capacity.v1", key=None,
                      value=value, error=error, consumer_group="sharefab-matcher",
                      source="5@98765", at=datetime(2026, 12, 4, 22, 51, 7, tzinfo=UTC))


def test_an_80_column_terminal_shows_every_field_whole():
    text = shown(letter(), 80)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80 and "…" not in text
    assert lines[0].split() == ["capacity.v1.dlq:5:1234", "order.submitted", "v1",
                                "2026-12-04", "22:51:07", "UTC"]
    assert lines[1].strip() == "from capacity.v1 5@98765, consumer group sharefab-matcher"
    assert " ".join(line.strip() for line in lines[2:]) == f"error: {ERROR}"  # wrapped, whole
    assert all(line.startswith("  ") for line in lines[1:])


def test_markup_and_unreadable_values_are_shown_as_they_are():
    text = shown(letter(error="[red]boom[/red]", value=b"\xff"), 120)
    assert "error: [red]boom[/red]" in text and "(unreadable)" in text
