"""Property tests of the capacity validators: window shape, the hours a window holds and
accepts, overlap detection and tiers, each against a plainly written oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.capacity.domain.errors import CapacityExceeded, InvalidInput
from services.capacity.domain.model import Factory
from services.capacity.domain.windows import EPSILON, Window, check_shape, find_overlaps
from shared.vocabulary import TIERS

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@given(st.integers(-100, 100), st.integers(-100, 100), st.floats(-5, 120, allow_nan=False))
def test_a_window_shape_is_valid_exactly_when_0_lt_hours_le_its_span(a, b, hours):  # type: ignore[no-untyped-def]
    start, end = T0 + timedelta(hours=a), T0 + timedelta(hours=b)
    valid = b > a and 0 < hours <= (b - a) + EPSILON
    if valid:
        check_shape(start, end, hours)
    else:
        with pytest.raises(InvalidInput):
            check_shape(start, end, hours)


@given(st.integers(1, 48))
def test_a_window_without_a_time_zone_is_refused(span):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="time zone"):
        check_shape(T0.replace(tzinfo=None), (T0 + timedelta(hours=span)).replace(tzinfo=None),
                    1.0)


operations = st.lists(st.tuples(st.sampled_from(["hold", "accept", "release", "unaccept"]),
                                st.floats(0.25, 12, allow_nan=False)), max_size=30)


@settings(max_examples=300)
@given(st.floats(1, 40, allow_nan=False), operations)
def test_held_plus_accepted_never_exceeds_what_a_window_offers(offered, ops):  # type: ignore[no-untyped-def]
    window = Window(id="w", machine_id="m", factory_id="f", cluster_id="c", start=T0,
                    end=T0 + timedelta(hours=48), hours=offered)
    held = accepted = 0.0  # the oracle's own books
    for op, hours in ops:
        allowed = {"hold": hours <= offered - held - accepted + EPSILON,
                   "accept": hours <= held + EPSILON, "release": hours <= held + EPSILON,
                   "unaccept": hours <= accepted + EPSILON}[op]
        act = {"hold": window.hold, "accept": window.accept_held,
               "release": window.release_held, "unaccept": window.release_accepted}[op]
        if not allowed:
            with pytest.raises(CapacityExceeded):
                act(hours)
            continue
        act(hours)
        if op == "hold":
            held += hours
        elif op == "accept":
            held, accepted = max(0.0, held - hours), accepted + hours
        elif op == "release":
            held = max(0.0, held - hours)
        else:
            accepted = max(0.0, accepted - hours)
        assert window.held_hours == pytest.approx(held)
        assert window.accepted_hours == pytest.approx(accepted)
        assert window.held_hours >= 0 and window.accepted_hours >= 0
        assert window.reserved_hours <= window.hours + 1e-6
        assert window.free_hours == pytest.approx(max(0.0, offered - held - accepted))


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 12)), max_size=25))
def test_every_overlapping_window_is_found(spans):  # type: ignore[no-untyped-def]
    intervals = [(T0 + timedelta(hours=s), T0 + timedelta(hours=s + d), i)
                 for i, (s, d) in enumerate(spans)]
    found = find_overlaps(intervals)
    brute = {k for (s1, e1, k) in intervals for (s2, e2, j) in intervals
             if k != j and s1 < e2 and s2 < e1}
    assert set(found) == brute
    for key, other in found.items():  # each named partner really overlaps
        s1, e1, _ = intervals[key]
        s2, e2, _ = intervals[other]
        assert key != other and s1 < e2 and s2 < e1


@given(st.text(max_size=12) | st.sampled_from(TIERS))
def test_only_known_tiers_are_declared_or_verified(tier):  # type: ignore[no-untyped-def]
    def factory(declared: str) -> Factory:
        return Factory(id="f", firm_id="s", cluster_id="c", name="n", lat=0, lon=0,
                       declared_tier=declared)

    if tier in TIERS:
        made = factory(tier)
        made.verify_tier(tier)
        assert made.verified_tier == tier
    else:
        with pytest.raises(InvalidInput):
            factory(tier)
        with pytest.raises(InvalidInput):
            factory("basic").verify_tier(tier)
