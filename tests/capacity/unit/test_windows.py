"""Window rules: shape of a new window, overlap, the hours arithmetic, moving and closing."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.capacity.domain.errors import (
    BelowReserved,
    CapacityExceeded,
    InvalidInput,
    WindowInUse,
    WindowOverlap,
)
from services.capacity.domain.windows import Window, find_overlaps, open_window

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
NOW = T0 - timedelta(days=1)


def _open(start: datetime = T0, hours_span: float = 48, hours: float = 20.0,
          existing: list[Window] | None = None) -> Window:
    return open_window(window_id="w-new", machine_id="m1", factory_id="f1", cluster_id="c1",
                       start=start, end=start + timedelta(hours=hours_span), hours=hours,
                       existing=existing or [], now=NOW)


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


def test_a_window_must_end_after_now_and_may_have_started_before() -> None:
    for end in (NOW, NOW - timedelta(days=365)):  # e.g. last year's date typed by mistake
        with pytest.raises(InvalidInput, match="must be in the future") as exc:
            _open(start=end - timedelta(hours=48))
        assert exc.value.field == "end"
    running = _open(start=NOW - timedelta(hours=10))  # its remaining hours are still offered
    assert running.end == NOW + timedelta(hours=38)


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


def test_accepted_hours_can_be_given_back() -> None:
    window = _open(hours=20.0)
    window.hold(6.0)
    window.accept_held(6.0)
    with pytest.raises(CapacityExceeded):
        window.release_accepted(7.0)
    window.release_accepted(6.0)
    assert (window.accepted_hours, window.free_hours) == (0.0, 20.0)


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_reschedule_moves_and_resizes() -> None:
    window, neighbour = _open(), replace(_open(start=_h(48)), id="w-next")
    assert window.reschedule(start=_h(-10), end=None, hours=30.0, others=[window, neighbour],
                             now=NOW)
    assert (window.start, window.end, window.hours) == (_h(-10), _h(48), 30.0)
    assert not window.reschedule(start=_h(-10), end=None, hours=None, others=[], now=NOW)


@pytest.mark.parametrize(("change", "field"), [
    ({"hours": 0.0}, "hours"),
    ({"hours": 48.5}, "hours"),
    ({"end": _h(10)}, "end"),         # 20 h offered no longer fit: blamed on what moved
    ({"start": _h(40)}, "start"),
    ({"end": _h(0)}, "end"),
    ({"start": _h(0).replace(tzinfo=None)}, "start"),
])
def test_reschedule_keeps_the_shape_rules(change: dict, field: str) -> None:
    window = _open()
    with pytest.raises(InvalidInput) as exc:
        window.reschedule(**({"start": None, "end": None, "hours": None} | change), others=[],
                          now=NOW)
    assert exc.value.field == field
    assert (window.start, window.end, window.hours) == (T0, _h(48), 20.0)


def test_a_new_end_must_be_after_now_other_changes_need_not() -> None:
    window = _open()
    with pytest.raises(InvalidInput, match="must be in the future") as exc:
        window.reschedule(start=None, end=_h(30), hours=None, others=[], now=_h(30))
    assert exc.value.field == "end"
    assert window.end == _h(48)
    # a window that has ended may still be corrected (say, the hours it really offered)
    assert window.reschedule(start=None, end=None, hours=12.0, others=[], now=_h(60))
    assert window.hours == 12.0


def test_reschedule_refuses_overlap_and_hours_below_what_is_reserved() -> None:
    window, neighbour = _open(), replace(_open(start=_h(48)), id="w-next")
    with pytest.raises(WindowOverlap):
        window.reschedule(start=None, end=_h(49), hours=None, others=[window, neighbour],
                          now=NOW)
    window.hold(5.0)
    window.accept_held(3.0)
    window.hold(4.0)
    with pytest.raises(BelowReserved, match="9.0 h held or accepted"):  # 6 held + 3 accepted
        window.reschedule(start=None, end=None, hours=8.5, others=[], now=NOW)
    assert window.hours == 20.0
    assert window.reschedule(start=None, end=None, hours=9.0, others=[], now=NOW)
    assert window.free_hours == 0.0


def test_close_only_without_holds_or_acceptances() -> None:
    window = _open()
    window.hold(1.0)
    with pytest.raises(WindowInUse):
        window.close(now=T0)
    window.release_held(1.0)
    window.close(now=T0)
    assert window.closed_at == T0


def _brute_force(intervals: list[tuple[datetime, datetime, int]]) -> set[int]:
    return {a[2] for a in intervals for b in intervals
            if a[2] != b[2] and a[0] < b[1] and b[0] < a[1]}


def test_find_overlaps_names_every_overlapping_interval_and_a_true_partner() -> None:
    rng = random.Random(7)
    for _ in range(300):
        intervals = []
        for key in range(rng.randint(0, 12)):
            start = rng.randint(0, 40)
            intervals.append((_h(start), _h(start + rng.randint(1, 8)), key))
        found = find_overlaps(intervals)
        assert set(found) == _brute_force(intervals)
        by_key = {k: (s, e) for s, e, k in intervals}
        for key, other in found.items():
            (s1, e1), (s2, e2) = by_key[key], by_key[other]
            assert key != other and s1 < e2 and s2 < e1


def test_find_overlaps_treats_intervals_as_half_open() -> None:
    assert find_overlaps([(_h(0), _h(2), "a"), (_h(2), _h(4), "b")]) == {}
    assert find_overlaps([(_h(0), _h(2), "a"), (_h(0), _h(2), "b")]) == {"a": "b", "b": "a"}
