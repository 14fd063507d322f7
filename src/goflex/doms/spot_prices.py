"""Synthetic day-ahead spot prices for a scenario (pure; physics-and-grid.md 6).

Swiss day-ahead spot prices were around 40-60 EUR/MWh in 2017-2020 (about 35-45 in 2016). The series is hourly
(the day-ahead auction's product of those years) and built from: a seasonal level (dearer in winter), a daily
shape in local time (night trough, morning and evening peaks, a midday dip in summer from solar), cheaper
weekends and holidays, a persistent day-to-day factor (fuel, hydro, weather) and an hourly noise.
Imbalance prices are not generated: the scenario leaves them to the two-price rule of physics-and-grid.md 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from goflex.doms.load_model import Calendar
from goflex.twin.weather import ar1_filter


@dataclass(frozen=True)
class SpotModel:
    """Parameters of the spot price.

    Attributes:
        mean_eur_mwh: annual mean level [EUR/MWh].
        seasonal_amplitude: relative winter premium [-] (January +, July -).
        day_sd: standard deviation of the log day factor [-].
        day_rho: its day-to-day correlation [-].
        hour_sd_eur_mwh: hourly noise [EUR/MWh].
    """

    mean_eur_mwh: float = 42.0
    seasonal_amplitude: float = 0.18
    day_sd: float = 0.15
    day_rho: float = 0.75
    hour_sd_eur_mwh: float = 2.5


def _daily_shape(hour: NDArray[np.float64], summer: NDArray[np.float64]) -> NDArray[np.float64]:
    """Relative price by local hour: night 0.8, peaks at 09 h and 19 h, a solar dip at 13 h in summer."""
    morning = 0.22 * np.exp(-0.5 * ((hour - 9.0) / 1.6) ** 2)
    evening = 0.28 * np.exp(-0.5 * ((hour - 19.0) / 1.8) ** 2)
    day = 0.12 * np.exp(-0.5 * ((hour - 13.0) / 3.5) ** 2) * (1.0 - 1.6 * summer)
    return np.asarray(0.82 + morning + evening + day, dtype=np.float64)


def spot_eur_mwh(
    time_s: NDArray[np.int64], cal: Calendar, rng: np.random.Generator, model: SpotModel = SpotModel()
) -> NDArray[np.float64]:
    """Spot price at each instant [EUR/MWh], constant within each UTC hour.

    Args:
        time_s: instants, Unix [s] (sorted).
        cal: their local calendar.
        rng: random source.
        model: the parameters.
    """
    hour_index = (time_s - time_s[0] - (time_s[0] % 3600)) // 3600
    first_of_hour = np.concatenate(([True], hour_index[1:] != hour_index[:-1]))
    day_of_year = np.mod(time_s / 86_400.0, 365.2425)
    winter = np.cos(2.0 * math.pi * (day_of_year - 15.0) / 365.2425)
    summer = 0.5 * (1.0 - winter)
    local_day = cal.local_slot // 96
    days = int(local_day.max()) + 1
    z = rng.standard_normal(days)
    z[1:] *= math.sqrt(1.0 - model.day_rho**2)
    day_factor = np.exp(model.day_sd * ar1_filter(z, model.day_rho) - model.day_sd**2 / 2)[local_day]
    off = (cal.weekday >= 5) | cal.holiday
    weekly = np.where(off, np.where(cal.weekday == 6, 0.82, 0.9), 1.0)
    hour = np.floor(cal.local_hour)
    price = (
        model.mean_eur_mwh
        * (1.0 + model.seasonal_amplitude * winter)
        * _daily_shape(hour, summer)
        * weekly
        * day_factor
    )
    noise = rng.standard_normal(int(first_of_hour.sum())) * model.hour_sd_eur_mwh
    price = price + noise[np.cumsum(first_of_hour) - 1]
    # Hold the value of the hour's first instant for the whole hour (an hourly product).
    hourly = price[first_of_hour][np.cumsum(first_of_hour) - 1]
    return np.asarray(np.round(hourly, 2), dtype=np.float64)
