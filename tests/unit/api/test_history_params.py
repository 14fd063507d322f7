"""Parameters and output formats of GET /history (pure helpers)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.api.errors import ApiError
from goflex.api.history_params import Point, fill_buckets, iso_z, parse_time, to_csv

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T00:00:00Z", T0),
        ("2026-03-01T01:00:00+01:00", T0),
        (str(T0.timestamp()), T0),
        ("1772323200", T0),
    ],
)
def test_times_are_read_from_iso_with_zone_or_epoch_seconds(text: str, expected: datetime) -> None:
    assert parse_time(text, "from") == expected


@pytest.mark.parametrize("text", ["2026-03-01T00:00:00", "yesterday", "nan", ""])
def test_times_without_zone_or_unreadable_are_refused_naming_the_parameter(text: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_time(text, "from")
    assert info.value.status == 422
    assert info.value.field == "from"


def test_iso_times_end_in_z() -> None:
    assert iso_z(T0) == "2026-03-01T00:00:00Z"
    assert iso_z(T0 + timedelta(microseconds=500)) == "2026-03-01T00:00:00.000500Z"


def test_csv_has_a_header_and_one_line_per_point() -> None:
    text = to_csv([Point(T0, 5.68), Point(T0 + timedelta(minutes=15), True), Point(T0, None)])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["time", "value"],
        ["2026-03-01T00:00:00Z", "5.68"],
        ["2026-03-01T00:15:00Z", "true"],
        [
            "2026-03-01T00:00:00Z",
            "",
        ],
    ]


@given(
    present=st.sets(st.integers(min_value=0, max_value=95)),
    start_offset_s=st.integers(min_value=0, max_value=899),
)
def test_fill_gives_every_bucket_exactly_once_and_keeps_the_real_values(present: set[int], start_offset_s: int) -> None:
    step = timedelta(minutes=15)
    points = [Point(T0 + i * step, float(i)) for i in sorted(present)]
    start = T0 + timedelta(seconds=start_offset_s)
    end = T0 + 96 * step
    filled = fill_buckets(points, start=start, end=end, interval=step, fill=-1.0)
    assert [p.time for p in filled] == [T0 + i * step for i in range(96)]
    assert [p.value for p in filled] == [float(i) if i in present else -1.0 for i in range(96)]


def test_fill_refuses_absurd_ranges() -> None:
    with pytest.raises(ApiError, match="buckets"):
        fill_buckets([], start=T0, end=T0 + timedelta(days=3650), interval=timedelta(seconds=1), fill=0.0)
