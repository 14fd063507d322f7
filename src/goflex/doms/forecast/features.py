"""Calendar and weather features for the intraday imbalance models (physics-and-grid.md 4 and 7) (pure).

Calendar: local (Europe/Zurich) time of day as a circle, day of the week, Valais (canton VS) public holidays and
bridge days (a working day between a holiday and a weekend). Weather: outdoor temperature (heating load) and the
clear-sky solar elevation proxy (behind-the-meter PV), plus the day-ahead level.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from goflex.doms.forecast.base import F64
from goflex.twin.base_load import valais_holidays

ZURICH = ZoneInfo("Europe/Zurich")
CALENDAR_COLUMNS = ("hour_sin", "hour_cos", "weekday", "holiday", "bridge", "sun", "temp_c", "dayahead_mw")


@lru_cache(maxsize=8)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(valais_holidays(range(year, year + 1)))


def day_kind(day: date) -> tuple[float, float]:
    """``(holiday, bridge)`` flags of a local day (Valais holidays; a bridge day sits between one and a weekend)."""
    holiday = day in _holidays(day.year)
    before, after = day - timedelta(days=1), day + timedelta(days=1)

    def off(d: date) -> bool:
        return d.weekday() >= 5 or d in _holidays(d.year)

    bridge = not holiday and day.weekday() < 5 and off(before) and off(after)
    return float(holiday), float(bridge)


def calendar_features(time_s: F64, temp_c: F64, dayahead_mw: F64) -> F64:
    """Feature matrix (n, 8) in the order of :data:`CALENDAR_COLUMNS` for quarters starting at ``time_s``."""
    rows = np.empty((time_s.size, len(CALENDAR_COLUMNS)))
    for i, t in enumerate(time_s):
        local = datetime.fromtimestamp(float(t) + 450.0, UTC).astimezone(ZURICH)
        hour = local.hour + local.minute / 60.0
        holiday, bridge = day_kind(local.date())
        rows[i, :5] = (np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24), local.weekday(), holiday, bridge)
    # solar elevation proxy: daylight bell around local solar noon (Sion, 7.36 E)
    solar_hour = np.mod(time_s / 3600.0 + 0.125 + 7.36 / 15.0, 24.0)
    rows[:, 5] = np.clip(np.cos(2 * np.pi * (solar_hour - 12.0) / 24.0), 0.0, None)
    rows[:, 6] = temp_c
    rows[:, 7] = dayahead_mw
    return rows
