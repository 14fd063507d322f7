"""An ESR-like balance group load, every 5 minutes, from calendar and weather (pure; seed 3.3, Figure 50).

No package ships Swiss grid load (physics-and-grid.md 8), so the load is synthesised from parts whose shapes
are known, sized so the balance group looks like ESR's (Sion region: roughly 50-100 MW, a winter peak near
100 MW, physics-and-grid.md 7):

* households: the BDEW H25 standard load profile (demandlib) in Sion's local time, canton Valais holidays as
  Sundays (:func:`goflex.twin.base_load.h25_local_profile_kw`);
* commerce and industry: a working-day plateau 07-18 h local, a shorter Saturday morning, low on Sundays and
  holidays, lower on bridge days (a day between a holiday and a weekend);
* electric space heating: proportional to the heating degrees below 16 C of the last 24 h's mean outdoor
  temperature (the buildings' inertia), zero in summer;
* night-tariff water heaters: the ripple-controlled charge 22-06 h local (seed 2.2.1);
* behind-the-meter PV, subtracted: pvlib chain of :mod:`goflex.twin.solar` for south roofs tilted 30 degrees.

Every part takes its weather as arguments, so the day-ahead forecast is the same model fed with forecast
weather (see :mod:`goflex.doms.scenario`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from goflex.twin.base_load import h25_local_profile_kw, valais_holidays

TIMEZONE: Final = "Europe/Zurich"
STEP_S: Final = 300


@dataclass(frozen=True)
class BalanceGroup:
    """Sizes of the parts of the load.

    Attributes:
        households_gwh_per_a: annual household consumption (H25 profile) [GWh/a].
        commerce_peak_mw: commerce and industry on a working day at noon [MW].
        commerce_base_mw: commerce and industry at night and on Sundays [MW].
        heating_mw_per_k: electric space heating per degree below ``heating_limit_c`` [MW/K].
        heating_limit_c: daily mean outdoor temperature above which nobody heats [C].
        night_boilers_mw: mean power of the night-tariff water heaters between 22 and 06 h local [MW].
        pv_mwp: installed behind-the-meter PV [MWp].
        bridge_day_factor: commerce on a bridge day relative to a working day [-].
    """

    households_gwh_per_a: float = 170.0
    commerce_peak_mw: float = 34.0
    commerce_base_mw: float = 16.0
    heating_mw_per_k: float = 1.3
    heating_limit_c: float = 16.0
    night_boilers_mw: float = 6.0
    pv_mwp: float = 12.0
    bridge_day_factor: float = 0.75


ESR: Final = BalanceGroup()


@dataclass(frozen=True, eq=False)
class Calendar:
    """Local-time facts per instant (arrays of the times' shape).

    Attributes:
        local_hour: hour of the day in Sion's local time, fractional [h].
        weekday: 0 = Monday ... 6 = Sunday.
        holiday: a public holiday of canton Valais.
        bridge: a working day between a holiday and a weekend (or two holidays).
        local_slot: index of the local quarter hour counted from local midnight of ``first_day``.
        first_day: the first local day covered.
        days: local days covered from ``first_day``.
    """

    local_hour: NDArray[np.float64]
    weekday: NDArray[np.int64]
    holiday: NDArray[np.bool_]
    bridge: NDArray[np.bool_]
    local_slot: NDArray[np.int64]
    first_day: date
    days: int


def calendar(time_s: NDArray[np.int64]) -> Calendar:
    """The local calendar of ``time_s`` (Unix [s], sorted) in Sion (Europe/Zurich, canton VS holidays)."""
    index = pd.DatetimeIndex(pd.to_datetime(time_s, unit="s", utc=True)).tz_convert(TIMEZONE)
    naive = index.tz_localize(None)
    local_days = naive.normalize()
    first_day = local_days[0].date()
    days = (local_days[-1].date() - first_day).days + 1
    years = range(first_day.year - 1, first_day.year + days // 365 + 2)
    holiday_set = set(valais_holidays(years))
    day_list = [first_day + timedelta(days=k) for k in range(-1, days + 2)]
    is_holiday = {d: d in holiday_set for d in day_list}
    off = {d: is_holiday[d] or d.weekday() >= 5 for d in day_list}
    bridge_days = {
        d
        for d in day_list[1:-1]
        if not off[d] and off[d - timedelta(days=1)] and off[d + timedelta(days=1)]
        and (is_holiday[d - timedelta(days=1)] or is_holiday[d + timedelta(days=1)])
    }  # fmt: skip
    day_index = ((local_days - pd.Timestamp(first_day)) // pd.Timedelta(days=1)).to_numpy()
    holiday = np.array([is_holiday[first_day + timedelta(days=int(k))] for k in range(days)])[day_index]
    bridge = np.array([first_day + timedelta(days=int(k)) in bridge_days for k in range(days)])[day_index]
    seconds = (naive - pd.Timestamp(first_day)) // pd.Timedelta(seconds=1)
    local_s = np.asarray(seconds, dtype=np.int64)
    return Calendar(
        local_hour=np.asarray((local_s % 86_400) / 3600.0, dtype=np.float64),
        weekday=np.asarray(naive.day_of_week, dtype=np.int64),
        holiday=np.asarray(holiday, dtype=np.bool_),
        bridge=np.asarray(bridge, dtype=np.bool_),
        local_slot=local_s // 900,
        first_day=first_day,
        days=days,
    )


def households_mw(cal: Calendar, group: BalanceGroup = ESR) -> NDArray[np.float64]:
    """Household load from the H25 profile [MW] (holidays as Sundays)."""
    profile_kw = h25_local_profile_kw(cal.first_day, cal.days)  # [kW per GWh/a]
    return np.asarray(profile_kw[cal.local_slot] * group.households_gwh_per_a / 1000.0, dtype=np.float64)


def _plateau(hour: NDArray[np.float64], start_h: float, end_h: float, ramp_h: float = 1.0) -> NDArray[np.float64]:
    up = np.clip((hour - start_h) / ramp_h + 0.5, 0.0, 1.0)
    down = np.clip((end_h - hour) / ramp_h + 0.5, 0.0, 1.0)
    return np.asarray(np.minimum(up, down), dtype=np.float64)


def commerce_mw(cal: Calendar, group: BalanceGroup = ESR) -> NDArray[np.float64]:
    """Commerce and industry [MW]: working-day plateau, Saturday morning, Sundays and holidays at base."""
    working = (cal.weekday < 5) & ~cal.holiday
    saturday = (cal.weekday == 5) & ~cal.holiday
    lunch_dip = 1.0 - 0.12 * _plateau(cal.local_hour, 12.0, 13.5, 0.5)
    day_shape = np.where(
        working,
        _plateau(cal.local_hour, 7.0, 18.0, 1.5) * lunch_dip * np.where(cal.bridge, group.bridge_day_factor, 1.0),
        np.where(saturday, 0.45 * _plateau(cal.local_hour, 8.0, 13.0, 1.0), 0.0),
    )
    return np.asarray(group.commerce_base_mw + (group.commerce_peak_mw - group.commerce_base_mw) * day_shape)


def heating_mw(temp_c: NDArray[np.float64], group: BalanceGroup = ESR) -> NDArray[np.float64]:
    """Electric space heating [MW] from the outdoor temperature every 5 minutes [C].

    The heating follows the mean temperature of the last 24 h (building inertia, physics-and-grid.md 3:
    time constants of 30-100 h) plus a tenth of the instantaneous deficit (night set-back, wind).
    """
    window = 288
    padded = np.concatenate((np.full(window - 1, temp_c[0]), temp_c))
    cumulative = np.cumsum(padded)
    mean_24h = (cumulative[window - 1 :] - np.concatenate(([0.0], cumulative[:-window]))) / window
    deficit = np.clip(group.heating_limit_c - mean_24h, 0.0, None)
    instant = np.clip(group.heating_limit_c - temp_c, 0.0, None)
    return np.asarray(group.heating_mw_per_k * (deficit + 0.1 * instant), dtype=np.float64)


def night_boilers_mw(cal: Calendar, group: BalanceGroup = ESR) -> NDArray[np.float64]:
    """Ripple-controlled water heaters charging in the night tariff, 22-06 h local [MW]; front-loaded."""
    hour_since_22 = np.mod(cal.local_hour - 22.0, 24.0)
    on = hour_since_22 < 8.0
    # Most tanks are full after 2-3 h (physics-and-grid.md 2: a full recharge takes 2.9 h at 6 kW).
    shape = np.where(on, np.exp(-hour_since_22 / 2.5), 0.0)
    return np.asarray(group.night_boilers_mw * shape * 8.0 / (2.5 * (1 - np.exp(-8.0 / 2.5))), dtype=np.float64)


def structural_load_mw(
    time_s: NDArray[np.int64],
    *,
    temp_c: NDArray[np.float64],
    pv_w_per_kwp: NDArray[np.float64],
    group: BalanceGroup = ESR,
    cal: Calendar | None = None,
) -> NDArray[np.float64]:
    """The balance group's expected load for given weather [MW], every 5 minutes.

    Args:
        time_s: instants, Unix [s], 300 s apart.
        temp_c: outdoor temperature at those instants [C].
        pv_w_per_kwp: AC power of 1 kWp of PV at those instants [W/kWp].
        group: the sizes.
        cal: the calendar of ``time_s`` (computed if None).
    """
    cal = calendar(time_s) if cal is None else cal
    pv_mw = group.pv_mwp * pv_w_per_kwp / 1000.0
    return np.asarray(
        households_mw(cal, group)
        + commerce_mw(cal, group)
        + heating_mw(temp_c, group)
        + night_boilers_mw(cal, group)
        - pv_mw,
        dtype=np.float64,
    )


def utc_midnight_s(day: date) -> int:
    """Unix time of ``day`` 00:00 UTC [s]."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
