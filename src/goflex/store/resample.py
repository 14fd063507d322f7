"""Resampling of time series into fixed buckets (pure: plain values in, plain values out).

A query with resampling cuts ``[since, until)`` into buckets of a fixed length aligned on the UNIX epoch
(bucket index = floor(epoch / interval), so ``1d`` buckets start at 00:00 UTC and ``15m`` buckets are the market
time units of DESIGN.md 4) and reduces each non-empty bucket to one value stamped with the bucket's start:

=========  ===============================================================================================
MEAN       arithmetic mean of the numeric values (float)
MIN, MAX   smallest / largest numeric value (float)
SUM        sum of the numeric values (float)
COUNT      number of stored values, of any type (int)
FIRST      the earliest value, of any type, unchanged
LAST       the latest value, of any type, unchanged
INTEGRAL   time integral by the trapezoidal rule [value x h]: a power in W gives energy in Wh. Between two
           consecutive values the signal is taken as linear; a segment that crosses bucket boundaries is
           split there, so the bucket integrals add up to the integral over the whole range. Nothing is
           extrapolated before the first or after the last value of the range.
=========  ===============================================================================================

Numeric values are numbers, integers and booleans (as 0/1); strings count only for COUNT, FIRST and LAST.
Buckets without a value are left out (``fillValue`` is the API's business). The store computes MEAN, MIN, MAX,
SUM and COUNT in SQL with the same bucketing; this module is the reference for them and computes the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Final, NamedTuple

from goflex.store.errors import StoreError
from goflex.store.values import Value

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
_US_PER_HOUR: Final = 3_600_000_000
_INTERVAL: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_S: Final = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class InvalidResample(StoreError, ValueError):  # noqa: N818 - named for the caller's decision
    """A resampling interval or function that cannot be used; the message names it."""


class ResampleFunction(StrEnum):
    """How a bucket is reduced to one value (cloud.iO ``resampleFunction`` wire values)."""

    MEAN = "MEAN"
    MIN = "MIN"
    MAX = "MAX"
    SUM = "SUM"
    FIRST = "FIRST"
    LAST = "LAST"
    COUNT = "COUNT"
    INTEGRAL = "INTEGRAL"


SQL_FUNCTIONS: Final = frozenset(
    {ResampleFunction.MEAN, ResampleFunction.MIN, ResampleFunction.MAX, ResampleFunction.SUM, ResampleFunction.COUNT}
)
"""Functions the store computes in SQL (the others are computed here over the raw values)."""


class Point(NamedTuple):
    """One value of a time series: ``(time, value)``, time an aware UTC datetime."""

    time: datetime
    value: Value


@dataclass(frozen=True)
class Resample:
    """A resampling request.

    Attributes:
        interval: bucket length, at least one second, a whole number of microseconds.
        function: how each bucket is reduced.
    """

    interval: timedelta
    function: ResampleFunction = ResampleFunction.MEAN

    def __post_init__(self) -> None:
        if self.interval < timedelta(seconds=1):
            raise InvalidResample(f"resample interval {self.interval}: must be at least one second")
        object.__setattr__(self, "function", ResampleFunction(self.function))

    @property
    def interval_us(self) -> int:
        """Bucket length [us]."""
        return self.interval // _US

    @classmethod
    def parse(cls, interval: str, function: str = "MEAN") -> Resample:
        """Build from the API's text, e.g. ``Resample.parse("15m", "mean")``.

        Raises:
            InvalidResample: unknown function or malformed interval.
        """
        try:
            chosen = ResampleFunction(function.upper())
        except ValueError:
            names = ", ".join(f.value for f in ResampleFunction)
            raise InvalidResample(f"resample function {function!r}: not one of {names}") from None
        return cls(parse_interval(interval), chosen)


def parse_interval(text: str) -> timedelta:
    """Parse ``1m``, ``15m``, ``1h``, ``1d``, ``90s``, ``15min`` or plain seconds (``900``).

    Raises:
        InvalidResample: not a duration, or shorter than one second.
    """
    match = _INTERVAL.match(text)
    if match is None:
        raise InvalidResample(f"resample interval {text!r}: not a duration like 1m, 15m, 1h, 1d or 900")
    seconds = float(match.group(1)) * _UNIT_S[(match.group(2) or "s").lower()]
    if seconds < 1:
        raise InvalidResample(f"resample interval {text!r}: shorter than one second")
    return timedelta(seconds=seconds)


def to_us(t: datetime) -> int:
    """Microseconds since the epoch of an aware datetime [us]."""
    return (t - EPOCH) // _US


def bucket_index(t: datetime, interval_us: int) -> int:
    """Index of the bucket holding ``t`` (floor division, so also right before 1970)."""
    return to_us(t) // interval_us


def bucket_start(index: int, interval_us: int) -> datetime:
    """Start of bucket ``index`` (aware UTC)."""
    return EPOCH + timedelta(microseconds=index * interval_us)


def numeric(value: Value) -> float | None:
    """The value as a float for arithmetic (booleans as 0/1), ``None`` for strings."""
    if isinstance(value, str):
        return None
    return float(value)


def resample(points: Iterable[tuple[datetime, Value]], spec: Resample) -> list[Point]:
    """Reduce ``points`` to one value per non-empty bucket, ordered by bucket start.

    Args:
        points: ``(time, value)`` pairs, in any order (ties keep their given order for FIRST/LAST).
        spec: interval and function.
    """
    ordered = sorted(points, key=lambda p: p[0])
    step = spec.interval_us
    if spec.function is ResampleFunction.INTEGRAL:
        return integral(ordered, step)
    buckets: dict[int, list[Value]] = {}
    for time, value in ordered:
        buckets.setdefault(bucket_index(time, step), []).append(value)
    out: list[Point] = []
    for index, values in buckets.items():
        reduced = _reduce(values, spec.function)
        if reduced is not None:
            out.append(Point(bucket_start(index, step), reduced))
    return out


def _reduce(values: Sequence[Value], function: ResampleFunction) -> Value | None:  # noqa: PLR0911 - one per function
    if function is ResampleFunction.COUNT:
        return len(values)
    if function is ResampleFunction.FIRST:
        return values[0]
    if function is ResampleFunction.LAST:
        return values[-1]
    numbers = [n for n in (numeric(v) for v in values) if n is not None]
    if not numbers:
        return None
    if function is ResampleFunction.MEAN:
        return sum(numbers) / len(numbers)
    if function is ResampleFunction.MIN:
        return min(numbers)
    if function is ResampleFunction.MAX:
        return max(numbers)
    return float(sum(numbers))  # SUM


def integral(points: Sequence[tuple[datetime, Value]], interval_us: int) -> list[Point]:
    """Trapezoidal time integral per bucket [value x h], from points sorted by time.

    A bucket appears when it holds a numeric point or part of a segment between two numeric points.
    """
    series = [(to_us(t), n) for t, v in points if (n := numeric(v)) is not None]
    areas: dict[int, float] = {}
    for t, _ in series:
        areas.setdefault(t // interval_us, 0.0)
    for (t0, v0), (t1, v1) in pairwise(series):
        if t1 <= t0:
            continue
        slope = (v1 - v0) / (t1 - t0)
        k = t0 // interval_us
        while k * interval_us < t1:
            lo = max(t0, k * interval_us)
            hi = min(t1, (k + 1) * interval_us)
            if hi > lo:
                v_lo = v0 + slope * (lo - t0)
                v_hi = v0 + slope * (hi - t0)
                areas[k] = areas.get(k, 0.0) + (v_lo + v_hi) / 2 * (hi - lo) / _US_PER_HOUR
            k += 1
    return [Point(bucket_start(k, interval_us), areas[k]) for k in sorted(areas)]


def total_integral(points: Sequence[tuple[datetime, Value]]) -> float:
    """Trapezoidal integral over all of ``points`` (sorted by time) [value x h]."""
    series = [(to_us(t), n) for t, v in points if (n := numeric(v)) is not None]
    return sum((v0 + v1) / 2 * (t1 - t0) for (t0, v0), (t1, v1) in pairwise(series)) / (_US_PER_HOUR)
