"""Window rules: shape of a new window, overlap, and the hours arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.capacity.domain.errors import CapacityExceeded, InvalidInput, WindowOverlap
from services.capacity.domain.windows import Window, open_window

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _open(start: datetime = T0, hours_span: float = 48, hours: float = 20.0,
          existing: list[Window] | None = None) -> Window:
    return open_window(window_id="w-new", machine_id="m1", factory_id="f1", cluster_id="c1",
                       start=start, end=start + timedelta(hours=hours_span), hours=hours,
                       existing=existing or [])


def test_a_valid_window_starts_with_all_hours_free() -> None:
    window = _open()
    assert (window.hours, window.held_hours, window.accepted_hours, window.free_hours) == (
        20.0, 0.0, 0.0, 20.0)
    assert window.version == 0


@pytest.mark.parametrize(("span", "hours", "field"), [
    (0, 1.0, "end"), (-2, 1.0, "end"), (10, 10.5, "hours"), (10, 0.0, "hours"), (10, -1, "hours"),
])
def test_end_after_start_and_hours_within_the_span(span: float, hours: float, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        _open(hours_span=span, hours=hours)
    assert exc.value.field == field


def test_hours_may_fill_the_whole_span() -> None:
    assert _open(hours_span=10, hours=10.0).hours == 10.0


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        _open(start=T0.replace(tzinfo=None))
    assert exc.value.field == "start"


def test_overlapping_windows_of_one_machine_are_refused() -> None:
    first = _open()
    with pytest.raises(WindowOverlap, match="w-new"):
        _open(start=T0 + timedelta(hours=47), existing=[first])


def test_a_window_may_start_where_another_ends() -> None:
    first = _open()
    assert _open(start=T0 + timedelta(hours=48), existing=[first]).start == first.end


def test_holds_then_accepts_and_releases_keep_the_sum_within_the_offer() -> None:
    window = _open(hours=20.0)
    window.hold(6.0)
    window.hold(4.0)
    window.accept_held(6.0)
    window.release_held(4.0)
    assert (window.held_hours, window.accepted_hours, window.free_hours) == (0.0, 6.0, 14.0)


def test_a_hold_beyond_the_free_hours_is_refused_and_changes_nothing() -> None:
    window = _open(hours=20.0)
    window.hold(18.0)
    with pytest.raises(CapacityExceeded, match="2.0 h free, 3.0 h asked"):
        window.hold(3.0)
    assert window.held_hours == 18.0


def test_releasing_more_than_is_held_is_refused() -> None:
    window = _open()
    window.hold(2.0)
    with pytest.raises(CapacityExceeded):
        window.release_held(3.0)
