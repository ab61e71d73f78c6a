"""The CSV import rules without a database: parsing, ownership, overlaps, all-or-nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.capacity.domain.errors import ImportRejected, RowError
from services.capacity.domain.window_import import (
    MAX_ROWS,
    MachineRef,
    parse_csv,
    plan_import,
)
from services.capacity.domain.windows import Window

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
NOW = T0 - timedelta(days=1)
MINE = {"m1": MachineRef("m1", "f1", "c1"), "m2": MachineRef("m2", "f2", "c2")}


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def _file(*rows: str) -> str:
    return "machine_id,start,end,hours\n" + "".join(r + "\n" for r in rows)


def _plan(text: str, existing: list[Window] | None = None) -> list[Window]:
    ids = (f"w{n}" for n in itertools.count(1))
    return plan_import(parse_csv(text, now=NOW), machines=MINE, existing=existing or [],
                       new_id=lambda: next(ids))


def _errors(text: str, existing: list[Window] | None = None) -> list[RowError]:
    with pytest.raises(ImportRejected) as exc:
        _plan(text, existing)
    return exc.value.errors


def test_valid_rows_become_windows_in_row_order_in_utc() -> None:
    windows = _plan(_file(f"m1,{_at(0)},{_at(10)},8", f"m2,{_at(0)},{_at(10)},10",
                          "m1,2026-12-02T08:00:00+08:00,2026-12-02T20:00:00+08:00,1.5"))
    assert [(w.id, w.machine_id, w.factory_id, w.cluster_id, w.hours) for w in windows] == [
        ("w1", "m1", "f1", "c1", 8.0), ("w2", "m2", "f2", "c2", 10.0),
        ("w3", "m1", "f1", "c1", 1.5)]
    assert windows[2].start == datetime(2026, 12, 2, 0, tzinfo=UTC)
    assert windows[2].start.utcoffset() == timedelta(0)


def test_machines_not_owned_read_as_unknown() -> None:
    errors = _errors(_file(f"m9,{_at(0)},{_at(10)},8", f",{_at(0)},{_at(10)},8"))
    assert errors == [RowError(1, "machine_id", "unknown machine"),
                      RowError(2, "machine_id", "missing")]


def test_a_row_can_have_several_problems_and_rows_are_1_based() -> None:
    errors = _errors(_file(f"m1,{_at(0)},{_at(10)},8", "m9,soon,later,-1"))
    assert [(e.row, e.field) for e in errors] == [
        (2, "machine_id"), (2, "start"), (2, "end")]  # hours of a row without times: later


def test_hours_rules() -> None:
    errors = _errors(_file(f"m1,{_at(0)},{_at(10)},0", f"m1,{_at(20)},{_at(30)},10.01",
                           f"m1,{_at(40)},{_at(50)},nan", f"m1,{_at(60)},{_at(70)},inf",
                           f"m1,{_at(80)},{_at(80)},1"))
    assert [(e.row, e.field) for e in errors] == [
        (1, "hours"), (2, "hours"), (3, "hours"), (4, "hours"), (5, "end")]


def test_a_row_that_has_ended_is_refused_one_that_is_running_is_not() -> None:
    now = T0 + timedelta(hours=5)
    text = _file(f"m1,{_at(0)},{_at(5)},2", f"m1,{_at(0)},{_at(10)},2",
                 "m2,2025-12-01T08:00:00Z,2025-12-03T08:00:00Z,20")
    with pytest.raises(ImportRejected) as exc:
        plan_import(parse_csv(text, now=now), machines=MINE, existing=[], new_id=lambda: "w")
    assert [(e.row, e.field) for e in exc.value.errors] == [(1, "end"), (3, "end")]
    assert "must be in the future" in exc.value.errors[0].message


def test_overlaps_with_open_windows_and_between_rows_of_one_machine_only() -> None:
    existing = [Window("w-old", "m1", "f1", "c1", T0, T0 + timedelta(hours=10), 5.0)]
    errors = _errors(_file(f"m1,{_at(9)},{_at(12)},1",      # 1 overlaps w-old
                           f"m2,{_at(0)},{_at(10)},1",      # 2 other machine: fine
                           f"m1,{_at(20)},{_at(30)},1",     # 3 overlaps 4
                           f"m1,{_at(29)},{_at(31)},1",     # 4 overlaps 3
                           f"m1,{_at(31)},{_at(32)},1"),    # 5 touches 4: fine
                     existing)
    assert [(e.row, e.message) for e in errors] == [
        (1, f"overlaps window w-old ({T0.isoformat()} – {_at(10)}) of the same machine"),
        (3, "overlaps row 4 on the same machine"),
        (4, "overlaps row 3 on the same machine")]


def test_rows_with_format_errors_are_not_checked_for_overlap() -> None:
    errors = _errors(_file(f"m1,{_at(0)},{_at(10)},11", f"m1,{_at(0)},{_at(10)},1"))
    assert [(e.row, e.field) for e in errors] == [(1, "hours")]


@pytest.mark.parametrize(("text", "message"), [
    ("", "the first line must be the header machine_id,start,end,hours"),
    ("machine_id,start,end\n", "the first line must be the header machine_id,start,end,hours"),
    ("machine_id,start,end,hours,extra\n", "the first line must be the header "
                                           "machine_id,start,end,hours"),
    ("machine_id,start,end,hours\n", "the file has no data rows"),
    ("machine_id,start,end,hours\n,,,\n", "the file has no data rows"),
])
def test_file_level_problems(text: str, message: str) -> None:
    with pytest.raises(ImportRejected) as exc:
        parse_csv(text, now=NOW)
    assert exc.value.errors == [RowError(None, "file", message)]


def test_at_most_max_rows() -> None:
    row = f"m1,{_at(0)},{_at(10)},8"
    assert len(parse_csv(_file(*[row] * MAX_ROWS), now=NOW).rows) == MAX_ROWS
    with pytest.raises(ImportRejected) as exc:
        parse_csv(_file(*[row] * (MAX_ROWS + 1)), now=NOW)
    assert exc.value.errors == [RowError(None, "file", f"more than {MAX_ROWS} data rows")]


def test_broken_csv_quoting_is_a_file_error() -> None:
    with pytest.raises(ImportRejected) as exc:
        parse_csv('machine_id,start,end,hours\n"m1,a,b,1\n', now=NOW)  # the quote never closes
    [error] = exc.value.errors
    assert (error.row, error.field) == (None, "file")
    assert error.message == "line 2: not CSV (unexpected end of data)"


def test_ten_thousand_rows_on_one_machine_are_checked_quickly() -> None:
    """The overlap check sorts once per machine: 10,000 rows take well under a second."""
    import time

    rows = [f"m1,{_at(2 * n)},{_at(2 * n + 1)},1" for n in range(MAX_ROWS)]
    started = time.perf_counter()
    windows = _plan(_file(*rows))
    assert len(windows) == MAX_ROWS
    assert time.perf_counter() - started < 2.0
