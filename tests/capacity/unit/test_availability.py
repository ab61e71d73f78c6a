"""Aggregated availability: ISO-week shares, tiers, suppression of thin buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.capacity.domain.availability import FreeSlot, aggregate, week_shares

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)  # 2030-W02
NOW = MONDAY - timedelta(days=30)


def _slot(factory: str, *, day: float = 1, days: float = 1, free: float = 10.0,
          process: str = "cnc_milling", tier: str | None = None) -> FreeSlot:
    start = MONDAY + timedelta(days=day)
    return FreeSlot(factory, process, tier, start, start + timedelta(days=days), free)


def _rows(slots: list[FreeSlot], **kwargs: object) -> tuple[list[tuple], int]:
    found = aggregate(slots, now=kwargs.pop("now", NOW), **kwargs)  # type: ignore[arg-type]
    return ([(b.process, b.tier, b.iso_week, b.free_hours, b.factories) for b in found.items],
            found.suppressed_buckets)


def test_week_shares_split_in_proportion() -> None:
    assert list(week_shares(MONDAY, MONDAY + timedelta(days=1))) == [("2030-W02", 1.0)]
    shares = list(week_shares(MONDAY + timedelta(days=6), MONDAY + timedelta(days=10)))
    assert shares == [("2030-W02", 0.25), ("2030-W03", 0.75)]
    # a window crossing the ISO year boundary: Mon 2029-12-31 is in 2030-W01
    assert list(week_shares(datetime(2029, 12, 30, tzinfo=UTC),
                            datetime(2030, 1, 1, tzinfo=UTC))) == [
        ("2029-W52", 0.5), ("2030-W01", 0.5)]
    long = list(week_shares(MONDAY, MONDAY + timedelta(days=21)))
    assert [w for w, _ in long] == ["2030-W02", "2030-W03", "2030-W04"]
    assert sum(f for _, f in long) == pytest.approx(1.0)


def test_week_shares_use_utc_weeks() -> None:
    # Monday 07:00 in Qinhuangdao is still Sunday 23:00 UTC: the first hour is in W02
    start = datetime(2030, 1, 14, 7, tzinfo=timezone(timedelta(hours=8)))
    assert list(week_shares(start, start + timedelta(hours=2))) == [
        ("2030-W02", 0.5), ("2030-W03", 0.5)]


def test_three_factories_show_two_are_suppressed() -> None:
    assert _rows([_slot("f1"), _slot("f2")]) == ([], 1)
    assert _rows([_slot("f1"), _slot("f2"), _slot("f3", free=5.5)]) == (
        [("cnc_milling", "basic", "2030-W02", 25.5, 3)], 0)
    # two windows of one factory are one factory
    assert _rows([_slot("f1"), _slot("f1", day=3), _slot("f2")]) == ([], 1)


def test_buckets_by_process_tier_and_week() -> None:
    slots = [_slot(f) for f in ("f1", "f2", "f3")]
    slots += [_slot(f, tier="advanced", day=8) for f in ("f4", "f5", "f6")]
    slots += [_slot(f, process="welding") for f in ("f1", "f2")]
    assert _rows(slots) == ([("cnc_milling", "basic", "2030-W02", 30.0, 3),
                             ("cnc_milling", "advanced", "2030-W03", 30.0, 3)], 1)
    assert _rows(slots, min_tier="advanced") == (
        [("cnc_milling", "advanced", "2030-W03", 30.0, 3)], 0)
    assert _rows(slots, min_tier="leading") == ([], 0)


def test_only_the_future_counts() -> None:
    slots = [_slot(f, day=0, days=2, free=10.0) for f in ("f1", "f2", "f3")]
    # halfway through: all free hours fall in what is left of the window
    assert _rows(slots, now=MONDAY + timedelta(days=1)) == (
        [("cnc_milling", "basic", "2030-W02", 30.0, 3)], 0)
    assert _rows(slots, now=MONDAY + timedelta(days=2)) == ([], 0)
    assert _rows([_slot(f, free=0.0) for f in ("f1", "f2", "f3")]) == ([], 0)
