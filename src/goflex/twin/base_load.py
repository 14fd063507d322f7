"""Household base load (everything but the controlled heating) from the BDEW H25 profile (pure).

The 2025 BDEW household standard load profile (demandlib ``H25``: 15-minute values per month and day type
WT/SA/FT, with the dynamisation polynomial, scaled to 1 GWh/a) is evaluated in Sion's local time with the
public holidays of canton Valais as Sundays, then scaled to each house's annual consumption [kWh/a].
A standard profile is the mean of many households, so each house gets its own habits on top:

* a time shift of whole quarter hours (N(0, 30 min), clipped to +/-1 h): early and late households;
* a daily factor (lognormal, sd 0.2): busy and quiet days;
* a quarter-hour factor (lognormal AR(1) along the day, sd 0.45, lag-1 correlation 0.6): appliances.

Factors have mean 1 so the expected annual energy equals the target. Random numbers come from
``(seed, day)`` streams, so a quarter hour's values do not depend on which other times were asked.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
from demandlib import bdew
from numpy.typing import NDArray

from goflex.twin.weather import ar1_filter

SLOT_S: Final = 900.0
SLOTS_PER_DAY: Final = 96
_DAY_S: Final = 86_400


def valais_holidays(years: range) -> list[date]:
    """Public holidays of canton Valais (VS) in ``years`` (the ``holidays`` package, subdivision VS)."""
    return sorted(holidays.country_holidays("CH", subdiv="VS", years=list(years)).keys())


def h25_local_profile_kw(first_day: date, days: int) -> NDArray[np.float64]:
    """BDEW H25 for ``days`` local days from ``first_day``, shape ``(days * 96,)`` [kW per GWh/a].

    Valais holidays count as Sundays (day type FT), as the BDEW method prescribes for holidays.
    """
    start = datetime(first_day.year, first_day.month, first_day.day)  # noqa: DTZ001 - local wall-clock index
    index = pd.date_range(start, periods=days * SLOTS_PER_DAY, freq="15min")
    years = range(first_day.year, (first_day + timedelta(days=days)).year + 1)
    with warnings.catch_warnings():
        # demandlib 0.2.2 uses pandas APIs that pandas 3 deprecates (inplace=...); the results are unaffected.
        warnings.filterwarnings("ignore", message=r".*deprecated.*", category=DeprecationWarning)
        profile = bdew.H25(index, holidays=valais_holidays(years))
    return np.asarray(profile.to_numpy(), dtype=np.float64)


class BaseLoad:
    """Base load of ``n`` houses over a window, one value per house and quarter hour.

    Args:
        start_s: window start, Unix time [s].
        end_s: window end, Unix time [s].
        annual_kwh: annual consumption per house [kWh/a], shape ``(n,)``.
        seed: random seed.
        timezone: the houses' clocks (profile and habits are local).

    Raises:
        ValueError: an empty window or a negative consumption.
    """

    def __init__(
        self,
        start_s: float,
        end_s: float,
        *,
        annual_kwh: NDArray[np.float64],
        seed: int,
        timezone: str = "Europe/Zurich",
    ) -> None:
        if not end_s > start_s:
            raise ValueError(f"base load window [{start_s}, {end_s}] is empty")
        if annual_kwh.size and float(annual_kwh.min()) < 0:
            raise ValueError("annual_kwh must be >= 0")
        self.annual_kwh = np.asarray(annual_kwh, dtype=np.float64)
        self._n = self.annual_kwh.size
        self._seed = seed
        self._tz = ZoneInfo(timezone)
        # One local day of margin on each side covers the time shifts and UTC offsets.
        self._first_day = datetime.fromtimestamp(start_s, self._tz).date() - timedelta(days=1)
        days = (datetime.fromtimestamp(end_s, self._tz).date() - self._first_day).days + 2
        origin = datetime(self._first_day.year, self._first_day.month, self._first_day.day, tzinfo=UTC)
        self._local_origin_s = origin.timestamp()  # local midnight of first_day, as if it were UTC
        self._profile_kw = h25_local_profile_kw(self._first_day, days)
        rng = np.random.default_rng([seed, 0xBA5E])
        shift = np.clip(np.rint(rng.normal(0.0, 2.0, self._n)), -4, 4)
        self._shift_slots = shift.astype(np.intp)
        # [kW per GWh/a] -> [W]: x annual [kWh/a] / 1e6 [kWh/GWh] x 1000 [W/kW].
        self._scale_w = self.annual_kwh / 1000.0
        self._noise_day = -1
        self._noise: NDArray[np.float64] = np.ones((self._n, SLOTS_PER_DAY))
        self._cache_slot = -(2**62)
        self._cache: NDArray[np.float64] = np.zeros(self._n)

    def _day_noise(self, utc_day: int) -> NDArray[np.float64]:
        if utc_day != self._noise_day:
            rng = np.random.default_rng([self._seed, 0xDA7, utc_day])
            sd_day, sd_slot, rho = 0.2, 0.45, 0.6
            day = np.exp(sd_day * rng.standard_normal((self._n, 1)) - sd_day**2 / 2)
            # AR(1) along the day with unit stationary variance (first value drawn stationary).
            z = rng.standard_normal((self._n, SLOTS_PER_DAY))
            z[:, 1:] *= math.sqrt(1 - rho * rho)
            z = ar1_filter(z, rho)
            self._noise = np.asarray(day * np.exp(sd_slot * z - sd_slot**2 / 2), dtype=np.float64)
            self._noise_day = utc_day
        return self._noise

    def power_w(self, time_s: float) -> NDArray[np.float64]:
        """Mean base load of every house over the quarter hour (UTC-aligned) containing ``time_s`` [W].

        Raises:
            ValueError: a time outside the window.
        """
        slot = math.floor(time_s / SLOT_S)
        if slot == self._cache_slot:
            return self._cache
        offset_s = datetime.fromtimestamp(slot * SLOT_S, self._tz).utcoffset() or timedelta()
        local_slot = math.floor((slot * SLOT_S + offset_s.total_seconds() - self._local_origin_s) / SLOT_S)
        index = local_slot + self._shift_slots
        if int(index.min(initial=local_slot)) < 0 or int(index.max(initial=local_slot)) >= self._profile_kw.size:
            raise ValueError(f"time {time_s} outside the base load window")
        noise = self._day_noise(slot // SLOTS_PER_DAY)[:, slot % SLOTS_PER_DAY]
        self._cache = np.asarray(self._profile_kw[index] * self._scale_w * noise, dtype=np.float64)
        self._cache_slot = slot
        return self._cache
