"""The arithmetic of operator statistics (services/matcher/domain/stats.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.matcher.domain.stats import (
    InvalidWindow,
    Outcome,
    bucket_index,
    buckets,
    latency,
    parse_window,
    percentile,
    step_totals,
)

T = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [
    ("15m", 900), ("1h", 3600), ("24h", 86400), ("7d", 604800), ("90s", 90), ("90d", 7776000)])
def test_windows(text, seconds):  # type: ignore[no-untyped-def]
    assert parse_window(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "1w", "0m", "30s", "91d", "01h", " 1 h", "1H"])
def test_bad_windows(text):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidWindow):
        parse_window(text)


def test_nearest_rank_percentiles():  # type: ignore[no-untyped-def]
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (
        50.0, 95.0, 99.0)
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None
    assert latency([]).count == 0 and latency([]).p99 is None


def placed(step, run, minute, *, hours=2.0, sme=False, km=10.0):  # type: ignore[no-untyped-def]
    return Outcome(step_id=step, run_id=run, run_started_at=T + timedelta(minutes=minute),
                   placed=True, hours=hours, sme=sme, transport_km=km)


def unplaced(step, run, minute, reason):  # type: ignore[no-untyped-def]
    return Outcome(step_id=step, run_id=run, run_started_at=T + timedelta(minutes=minute),
                   placed=False, reason=reason)


def test_each_step_counts_once_with_its_latest_outcome():  # type: ignore[no-untyped-def]
    totals = step_totals([
        unplaced("s1", "r1", 0, "capacity_taken"), placed("s1", "r2", 5, hours=4, sme=True),
        placed("s2", "r1", 0, hours=6, km=20.0), unplaced("s2", "r3", 9, "outside_distance"),
        placed("s3", "r2", 5, hours=2, sme=True, km=4.0), unplaced("s4", "r1", 0, "edm")])
    assert (totals.placed, totals.unplaced) == (2, 2)
    assert totals.placed_hours == 6 and totals.sme_hours == 6 and totals.sme_share == 1.0
    assert totals.mean_transport_km == 7.0
    assert dict(totals.reasons) == {"outside_distance": 1, "edm": 1}
    assert totals.match_rate == 0.5
    empty = step_totals([])
    assert (empty.match_rate, empty.sme_share, empty.mean_transport_km) == (None, None, None)


def test_buckets_cover_the_window_and_its_end():  # type: ignore[no-untyped-def]
    until = T + timedelta(hours=1)
    assert buckets(T, until, 4)[1] == T + timedelta(minutes=15)
    width = timedelta(minutes=15)
    where = [bucket_index(T + timedelta(minutes=m), since=T, width=width, count=4)
             for m in (-1, 0, 14.9, 15, 59.9, 60, 61)]
    assert where == [None, 0, 0, 1, 3, 3, None]
