"""Reading the query parameters of ``GET /history`` and writing its answer (JSON or CSV), without I/O.

cloud.iO's history API (cloudio.md, Back-end API) takes ``from``/``to``, ``resampleInterval`` such as ``15m``,
``resampleFunction`` such as ``MEAN``, ``fillValue`` for empty buckets and ``max`` rows. Times are accepted as
ISO 8601 with a zone (``2026-01-01T00:00:00Z``, ``+01:00``) or as UNIX epoch seconds; a time without a zone is
refused rather than guessed (DESIGN.md 4: aware UTC only).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from goflex.api.errors import invalid

Value = bool | int | float | str

MAX_BUCKETS: Final = 1_000_000  # a fillValue request may not ask for more empty buckets than this


@dataclass(frozen=True)
class Point:
    """One value of a series: ``time`` (aware UTC) and the value (``None``: an empty bucket without fill)."""

    time: datetime
    value: Value | None


def parse_time(text: str, field: str) -> datetime:
    """An aware UTC datetime from ISO 8601 with a zone, or from epoch seconds.

    Raises:
        ApiError: 422 naming ``field`` if the text is neither, or has no zone.
    """
    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        pass  # not epoch seconds: read it as ISO 8601 below
    else:
        if not math.isfinite(seconds):
            raise invalid(field, f"{text!r} is not a time")
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(stripped.replace("z", "Z"))
    except ValueError:
        raise invalid(field, f"{text!r} is not an ISO 8601 time or epoch seconds") from None
    if parsed.tzinfo is None:
        raise invalid(field, f"{text!r} has no time zone; add Z for UTC")
    return parsed.astimezone(UTC)


def iso_z(t: datetime) -> str:
    """ISO 8601 in UTC ending in ``Z`` (cloud.iO's history format), microseconds only when non-zero."""
    text = t.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def fill_buckets(
    points: Sequence[Point], *, start: datetime, end: datetime, interval: timedelta, fill: Value
) -> list[Point]:
    """The resampled ``points`` with every empty bucket in ``[start, end)`` given the ``fill`` value.

    Buckets are aligned on the UNIX epoch (like the store's resampling), so ``start`` is rounded down.

    Raises:
        ApiError: 422 if the range holds more than :data:`MAX_BUCKETS` buckets.
    """
    step = interval.total_seconds()
    first = math.floor(start.timestamp() / step) * step
    count = math.ceil((end.timestamp() - first) / step)
    if count > MAX_BUCKETS:
        raise invalid("fillValue", f"the range holds {count} buckets, more than {MAX_BUCKETS}")
    by_time = {round(p.time.timestamp(), 6): p for p in points}
    out: list[Point] = []
    for index in range(max(0, count)):
        t = first + index * step
        found = by_time.get(round(t, 6))
        out.append(found if found is not None and found.value is not None else Point(_at(t), fill))
    return out


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_csv(points: Iterable[Point]) -> str:
    """``time,value`` lines (header first), times in ISO 8601 UTC with ``Z``, booleans as true/false."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time", "value"])
    for point in points:
        value: object = point.value
        if isinstance(value, bool):
            value = "true" if value else "false"
        writer.writerow([iso_z(point.time), "" if value is None else value])
    return buffer.getvalue()
