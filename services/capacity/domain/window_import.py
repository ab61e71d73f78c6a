"""Many windows from one CSV file: every row is valid and stored, or none is.

The file: the header ``machine_id,start,end,hours`` (any column order), then at most
``MAX_ROWS`` data rows; times are ISO-8601 with a zone (``Z`` or ``+08:00``). A row is bad when
its machine is not one of the caller's (unknown and foreign machines read the same), a time does
not parse, ``end ≤ start``, ``end`` is not after now, ``hours ≤ 0`` or ``> end − start``, or it
overlaps an open window of its machine or another row of the file on the same machine.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from services.capacity.domain.errors import ImportRejected, InvalidInput, RowError
from services.capacity.domain.windows import Window, check_shape, find_overlaps

MAX_ROWS = 10_000
COLUMNS = ("machine_id", "start", "end", "hours")
UNKNOWN_MACHINE = "unknown machine"


@dataclass(frozen=True)
class MachineRef:
    """Where a machine belongs: what a window on it needs to know."""

    id: str
    factory_id: str
    cluster_id: str


@dataclass(frozen=True)
class ImportRow:
    """One data row; a value that did not parse is None (and has a RowError)."""

    row: int
    machine_id: str
    start: datetime | None
    end: datetime | None
    hours: float | None


@dataclass
class ParsedFile:
    rows: list[ImportRow]
    errors: list[RowError]

    @property
    def machine_ids(self) -> set[str]:
        return {r.machine_id for r in self.rows if r.machine_id}


def parse_csv(text: str, *, now: datetime) -> ParsedFile:
    """Rows and their format errors; a file that is not such a table raises ImportRejected."""
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        index = _columns(next(reader, None))
        parsed = ParsedFile([], [])
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue  # blank lines are not data rows
            number = len(parsed.rows) + 1
            if number > MAX_ROWS:
                raise ImportRejected([RowError(None, "file", f"more than {MAX_ROWS} data rows")])
            if len(fields) != len(COLUMNS):
                parsed.errors.append(RowError(number, "row", f"expected {len(COLUMNS)} fields, "
                                                             f"found {len(fields)}"))
                parsed.rows.append(ImportRow(number, "", None, None, None))
                continue
            values = {name: fields[i].strip() for name, i in index.items()}
            parsed.rows.append(_row(number, values, parsed.errors, now=now))
    except csv.Error as exc:
        raise ImportRejected([RowError(None, "file",
                                       f"line {reader.line_num}: not CSV ({exc})")]) from exc
    if not parsed.rows:
        raise ImportRejected([RowError(None, "file", "the file has no data rows")])
    return parsed


def plan_import(parsed: ParsedFile, *, machines: Mapping[str, MachineRef],
                existing: Iterable[Window], new_id: Callable[[], str]) -> list[Window]:
    """The windows to store, in row order; raises ImportRejected listing every bad row.

    ``machines``: the caller's machines among those the file names; ``existing``: their open
    windows.
    """
    errors = list(parsed.errors)
    bad = {e.row for e in errors}
    for row in parsed.rows:
        if row.machine_id and row.machine_id not in machines:
            errors.append(RowError(row.row, "machine_id", UNKNOWN_MACHINE))
            bad.add(row.row)
    good = [r for r in parsed.rows if r.row not in bad]
    errors += _overlaps(good, existing)
    if errors:
        raise ImportRejected(sorted(errors, key=_error_order))
    return [Window(id=new_id(), machine_id=r.machine_id,
                   factory_id=machines[r.machine_id].factory_id,
                   cluster_id=machines[r.machine_id].cluster_id,
                   start=r.start, end=r.end, hours=r.hours)  # type: ignore[arg-type]
            for r in good]


def _error_order(error: RowError) -> tuple[int, int]:
    """By row, then in column order (``row`` problems last)."""
    field = COLUMNS.index(error.field) if error.field in COLUMNS else len(COLUMNS)
    return (error.row or 0, field)


def _columns(header: list[str] | None) -> dict[str, int]:
    names = [h.strip().lower() for h in header or []]
    if sorted(names) != sorted(COLUMNS):
        raise ImportRejected([RowError(None, "file", "the first line must be the header "
                                                     f"{','.join(COLUMNS)}")])
    return {name: i for i, name in enumerate(names)}


def _row(number: int, values: dict[str, str], errors: list[RowError], *,
         now: datetime) -> ImportRow:
    found: list[RowError] = []
    if not values["machine_id"]:
        found.append(RowError(number, "machine_id", "missing"))
    start, end = (_time(number, name, values[name], found) for name in ("start", "end"))
    hours = _hours(number, values["hours"], found)
    if not found and start and end and hours is not None:
        try:
            check_shape(start, end, hours, now=now)
        except InvalidInput as exc:
            found.append(RowError(number, exc.field, exc.message))
    errors += found
    return ImportRow(number, values["machine_id"], start, end, hours)


def _time(number: int, name: str, value: str, errors: list[RowError]) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.append(RowError(number, name, f"not an ISO-8601 timestamp: {value[:40]!r}"))
        return None
    if parsed.tzinfo is None:
        errors.append(RowError(number, name, "must carry a time zone (Z or +hh:mm)"))
        return None
    return parsed.astimezone(UTC)


def _hours(number: int, value: str, errors: list[RowError]) -> float | None:
    try:
        hours = float(value)
    except ValueError:
        hours = math.nan
    if not math.isfinite(hours):
        errors.append(RowError(number, "hours", f"not a number: {value[:40]!r}"))
        return None
    return hours


def _overlaps(rows: list[ImportRow], existing: Iterable[Window]) -> list[RowError]:
    """Rows that overlap an open window of their machine or another row (sorted sweep)."""
    intervals: dict[str, list[tuple[datetime, datetime, tuple[str, str | int]]]] = \
        defaultdict(list)
    windows = {}
    for row in rows:
        intervals[row.machine_id].append((row.start, row.end, ("row", row.row)))  # type: ignore[arg-type]
    for window in existing:
        if window.machine_id in intervals:
            windows[window.id] = window
            intervals[window.machine_id].append((window.start, window.end, ("window", window.id)))
    errors = []
    for machine_intervals in intervals.values():
        for (kind, key), (other_kind, other) in find_overlaps(machine_intervals).items():
            if kind != "row":
                continue
            if other_kind == "row":
                message = f"overlaps row {other} on the same machine"
            else:
                w = windows[str(other)]
                message = (f"overlaps window {w.id} ({w.start.isoformat()} – "
                           f"{w.end.isoformat()}) of the same machine")
            errors.append(RowError(int(key), "row", message))
    return errors
