"""Rooftop PV power per house from clear-sky irradiance scaled by the weather's cloudiness (pure).

Chain (pvlib): solar position and Ineichen clear sky with the bundled Linke turbidity (offline) ->
all-sky GHI = clear-sky index x clear-sky GHI -> Erbs decomposition into beam and diffuse -> isotropic
plane-of-array irradiance for the roof -> Faiman cell temperature -> PVWatts DC (-0.4 %/K) -> system losses
and inverter efficiency. Houses share a few roof orientations, so the chain runs once per distinct
(azimuth, tilt) on a regular grid and a house's power is its kWp times its class's specific power [W/kWp].
"""

from __future__ import annotations

import math
import warnings
from typing import Final

import numpy as np
import pandas as pd
import pvlib
from numpy.typing import NDArray

from goflex.twin.weather import Weather

# PVWatts defaults (Dobos 2014, NREL/TP-6A20-62641): 14 % system losses, 96 % nominal inverter efficiency.
SYSTEM_LOSSES: Final = 0.14
INVERTER_EFFICIENCY: Final = 0.96
GAMMA_PDC_PER_K: Final = -0.004


def specific_power_w_per_kwp(
    weather: Weather, time_s: NDArray[np.float64], *, azimuth_deg: float, tilt_deg: float
) -> NDArray[np.float64]:
    """AC power of a 1 kWp array at ``time_s`` (Unix [s]) [W/kWp], in [0, ~1000].

    Args:
        weather: cloudiness and air temperature (its window must cover ``time_s``).
        time_s: instants, shape ``(m,)`` [s].
        azimuth_deg: roof azimuth, 180 = south [deg].
        tilt_deg: roof tilt from horizontal [deg].
    """
    with warnings.catch_warnings():
        # pvlib 0.16 still calls pandas' deprecated DatetimeIndex.dayofyear (pandas 3 warns); harmless here.
        warnings.filterwarnings("ignore", message=r".*dayofyear is deprecated.*")
        return _specific_power(weather, time_s, azimuth_deg=azimuth_deg, tilt_deg=tilt_deg)


def _specific_power(
    weather: Weather, time_s: NDArray[np.float64], *, azimuth_deg: float, tilt_deg: float
) -> NDArray[np.float64]:
    site = weather.site
    location = pvlib.location.Location(site.latitude_deg, site.longitude_deg, tz="UTC", altitude=site.altitude_m)
    times = pd.DatetimeIndex(pd.to_datetime(time_s, unit="s", utc=True))
    position = location.get_solarposition(times)
    clear = location.get_clearsky(times, model="ineichen", solar_position=position)
    ghi = weather.clear_sky_index(time_s) * clear["ghi"].to_numpy()
    zenith = position["apparent_zenith"].to_numpy()
    split = pvlib.irradiance.erbs(ghi, zenith, times)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        zenith,
        position["azimuth"].to_numpy(),
        split["dni"],
        ghi,
        split["dhi"],
        model="isotropic",
    )["poa_global"]
    poa_w_m2 = np.nan_to_num(np.asarray(poa, dtype=np.float64), nan=0.0).clip(min=0.0)
    cell_c = pvlib.temperature.faiman(poa_w_m2, weather.temperature_c(time_s), wind_speed=1.5)
    dc_w = pvlib.pvsystem.pvwatts_dc(poa_w_m2, cell_c, 1000.0, GAMMA_PDC_PER_K)
    ac_w = np.asarray(dc_w, dtype=np.float64) * (1.0 - SYSTEM_LOSSES) * INVERTER_EFFICIENCY
    # The inverter clips at its rating (taken as the array's kWp).
    return np.clip(ac_w, 0.0, 1000.0)


class PvFleet:
    """PV power of many houses, precomputed per roof orientation on a grid over the weather's window.

    Args:
        weather: the weather (its window is the PV window).
        kwp: peak power per house [kWp] (0 = no PV), shape ``(n,)``.
        azimuth_deg: roof azimuth per house, 180 = south [deg].
        tilt_deg: roof tilt per house [deg].
        grid_s: precomputation grid [s]; the power is interpolated linearly in between.

    Raises:
        ValueError: arrays of different shapes or a negative kWp.
    """

    def __init__(
        self,
        weather: Weather,
        *,
        kwp: NDArray[np.float64],
        azimuth_deg: NDArray[np.float64],
        tilt_deg: NDArray[np.float64],
        grid_s: float = 300.0,
    ) -> None:
        if not kwp.shape == azimuth_deg.shape == tilt_deg.shape:
            raise ValueError("kwp, azimuth_deg and tilt_deg must have the same shape")
        if kwp.size and float(kwp.min()) < 0:
            raise ValueError("kwp must be >= 0")
        self.kwp = np.asarray(kwp, dtype=np.float64)
        n_grid = math.ceil((weather.end_s - weather.start_s) / grid_s) + 1
        self._t0 = weather.start_s
        self._grid_s = grid_s
        self._grid_time_s = weather.start_s + grid_s * np.arange(n_grid, dtype=np.float64)
        orientations = np.stack([azimuth_deg, tilt_deg], axis=1)
        has_pv = self.kwp > 0
        classes, inverse = np.unique(np.where(has_pv[:, None], orientations, 0.0), axis=0, return_inverse=True)
        self._class = np.asarray(inverse, dtype=np.intp).reshape(-1)
        table = np.zeros((len(classes), n_grid), dtype=np.float64)
        for k, (azimuth, tilt) in enumerate(classes):
            if np.any(has_pv & (self._class == k)):
                table[k] = specific_power_w_per_kwp(
                    weather, self._grid_time_s, azimuth_deg=float(azimuth), tilt_deg=float(tilt)
                )
        self._table = table

    def power_w(self, time_s: float) -> NDArray[np.float64]:
        """AC power of every house at ``time_s`` (Unix [s]) [W], shape ``(n,)``, in [0, 1000 x kWp].

        Raises:
            ValueError: a time outside the precomputed window.
        """
        x = (time_s - self._t0) / self._grid_s
        i = math.floor(x)
        if i < 0 or i >= self._table.shape[1] - 1:
            if i == self._table.shape[1] - 1 and x == i:
                return np.asarray(self._table[self._class, i] * self.kwp, dtype=np.float64)
            raise ValueError(f"time {time_s} outside the PV window")
        w = x - i
        column = (1.0 - w) * self._table[:, i] + w * self._table[:, i + 1]
        return np.asarray(column[self._class] * self.kwp, dtype=np.float64)
