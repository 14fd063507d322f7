"""The pure resampling core: invariants (Hypothesis) and worked examples."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.store.resample import (
    InvalidResample,
    Point,
    Resample,
    ResampleFunction,
    parse_interval,
    resample,
    total_integral,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
F = ResampleFunction

times = st.integers(min_value=0, max_value=3 * 86_400 * 1_000_000).map(lambda us: T0 + timedelta(microseconds=us))
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
series = st.lists(st.tuples(times, numbers), max_size=60)
intervals = st.sampled_from([timedelta(minutes=1), timedelta(minutes=15), timedelta(hours=1), timedelta(days=1)])


@given(series, intervals)
def test_counts_add_up_to_the_number_of_points(points: list[tuple[datetime, float]], interval: timedelta) -> None:
    buckets = resample(points, Resample(interval, F.COUNT))
    assert sum(int(b.value) for b in buckets) == len(points)
    assert all(b.value > 0 for b in buckets)


@given(series, intervals)
def test_bucket_sums_add_up_to_the_total(points: list[tuple[datetime, float]], interval: timedelta) -> None:
    buckets = resample(points, Resample(interval, F.SUM))
    assert math.isclose(sum(float(b.value) for b in buckets), sum(v for _, v in points), rel_tol=1e-9, abs_tol=1e-3)


@given(series, intervals)
def test_min_le_mean_le_max_and_first_last_are_members(
    points: list[tuple[datetime, float]], interval: timedelta
) -> None:
    low = resample(points, Resample(interval, F.MIN))
    mean = resample(points, Resample(interval, F.MEAN))
    high = resample(points, Resample(interval, F.MAX))
    first = resample(points, Resample(interval, F.FIRST))
    last = resample(points, Resample(interval, F.LAST))
    assert [p.time for p in low] == [p.time for p in mean] == [p.time for p in high] == [p.time for p in first]
    for lo, me, hi, fi, la in zip(low, mean, high, first, last, strict=True):
        assert float(lo.value) <= float(me.value) + 1e-6
        assert float(me.value) <= float(hi.value) + 1e-6
        assert float(lo.value) <= float(fi.value) <= float(hi.value)
        assert float(lo.value) <= float(la.value) <= float(hi.value)


@given(series, intervals)
def test_buckets_are_aligned_ordered_and_hold_their_points(
    points: list[tuple[datetime, float]], interval: timedelta
) -> None:
    buckets = resample(points, Resample(interval, F.COUNT))
    starts = [b.time for b in buckets]
    assert starts == sorted(set(starts))
    for start in starts:
        assert (start - datetime(1970, 1, 1, tzinfo=UTC)) % interval == timedelta(0)
    for t, _ in points:
        assert any(s <= t < s + interval for s in starts)


@given(series, intervals)
@settings(max_examples=200)
def test_bucket_integrals_add_up_to_the_whole(points: list[tuple[datetime, float]], interval: timedelta) -> None:
    ordered = sorted(points, key=lambda p: p[0])
    buckets = resample(points, Resample(interval, F.INTEGRAL))
    whole = total_integral(ordered)
    assert math.isclose(sum(float(b.value) for b in buckets), whole, rel_tol=1e-6, abs_tol=1e-3)


@given(
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
    st.lists(times, min_size=2, max_size=30, unique=True),
    intervals,
)
def test_integral_of_a_constant_is_constant_times_duration(
    value: float, stamps: list[datetime], interval: timedelta
) -> None:
    points = [(t, value) for t in stamps]
    duration_h = (max(stamps) - min(stamps)) / timedelta(hours=1)
    buckets = resample(points, Resample(interval, F.INTEGRAL))
    assert math.isclose(sum(float(b.value) for b in buckets), value * duration_h, rel_tol=1e-9, abs_tol=1e-6)


def test_integral_of_power_is_energy_in_watt_hours() -> None:
    # 1000 W for 30 min then a ramp to 2000 W over 30 min: 500 Wh + 750 Wh; 15-min buckets split the ramp.
    points = [(T0, 1000.0), (T0 + timedelta(minutes=30), 1000.0), (T0 + timedelta(minutes=60), 2000.0)]
    buckets = resample(points, Resample(timedelta(minutes=15), F.INTEGRAL))
    assert [b.time for b in buckets] == [T0 + timedelta(minutes=15 * k) for k in range(5)]
    assert [round(float(b.value), 6) for b in buckets] == [250.0, 250.0, 312.5, 437.5, 0.0]


def test_strings_count_and_pass_through_first_last_but_not_numbers() -> None:
    points = [(T0, "on"), (T0 + timedelta(seconds=1), 3), (T0 + timedelta(seconds=2), True)]
    spec = timedelta(minutes=1)
    assert resample(points, Resample(spec, F.COUNT)) == [Point(T0, 3)]
    assert resample(points, Resample(spec, F.FIRST)) == [Point(T0, "on")]
    assert resample(points, Resample(spec, F.LAST)) == [Point(T0, True)]
    assert resample(points, Resample(spec, F.MEAN)) == [Point(T0, 2.0)]
    assert resample([(T0, "only text")], Resample(spec, F.MAX)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1m", 60), ("15m", 900), ("1h", 3600), ("1d", 86400), ("900", 900), ("90s", 90), ("15min", 900)],
)
def test_parse_interval(text: str, expected: int) -> None:
    assert parse_interval(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "0", "0.5s", "m", "15x", "-1m"])
def test_parse_interval_refuses_nonsense(text: str) -> None:
    with pytest.raises(InvalidResample):
        parse_interval(text)


def test_parse_function_names_are_case_insensitive() -> None:
    assert Resample.parse("15m", "integral") == Resample(timedelta(minutes=15), F.INTEGRAL)
    with pytest.raises(InvalidResample, match="MEDIAN"):
        Resample.parse("15m", "MEDIAN")
