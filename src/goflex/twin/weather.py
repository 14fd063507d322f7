"""Outdoor temperature and cloudiness for Sion (pure; physics-and-grid.md 4).

The temperature is a deterministic climate (seasonal cycle plus a diurnal cycle in local solar time) plus a
weather anomaly: the sum of two Ornstein-Uhlenbeck processes, a synoptic one with a multi-day persistence and a
short one of a few hours. Cloudiness is a clear-sky index ``k`` in [0.08, 1] (all-sky / clear-sky global
irradiance) driven by its own persistent OU process around a seasonal mean; cloudy days have a smaller diurnal
temperature range, as in an inner-alpine valley.

Both processes are generated once for a time window on a regular grid (exact OU discretisation, so any grid
step is stable) and interpolated linearly, so a query is a vectorised table lookup. Everything is deterministic
for a given seed and window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

_DAY_S: Final = 86_400.0
_YEAR_D: Final = 365.2425


@dataclass(frozen=True)
class Site:
    """Where the houses are.

    Attributes:
        latitude_deg: latitude [deg N].
        longitude_deg: longitude [deg E].
        altitude_m: altitude above sea level [m].
        timezone: IANA time zone of the clocks (tariffs, habits).
    """

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    timezone: str


SION: Final = Site(latitude_deg=46.23, longitude_deg=7.36, altitude_m=490.0, timezone="Europe/Zurich")


@dataclass(frozen=True)
class Climate:
    """Climate parameters; defaults are Sion (MeteoSwiss normals: annual ~10 C, January ~0 C, July ~20 C).

    Attributes:
        annual_mean_c: annual mean temperature [C].
        seasonal_amplitude_k: half the difference July - January [K].
        coldest_day_of_year: day of year of the seasonal minimum [d].
        diurnal_range_winter_k: mean daily max - min in winter [K].
        diurnal_range_summer_k: mean daily max - min in summer [K].
        warmest_hour_solar: hour of the daily maximum, local solar time [h].
        synoptic_sd_k: standard deviation of the multi-day weather anomaly [K].
        synoptic_tau_h: its correlation time [h].
        short_sd_k: standard deviation of the short anomaly [K].
        short_tau_h: its correlation time [h].
        clear_index_winter: mean clear-sky index in winter [-].
        clear_index_summer: mean clear-sky index in summer [-].
        cloud_sd: spread of the clear-sky index around its mean [-].
        cloud_tau_h: correlation time of cloudiness [h].
    """

    annual_mean_c: float = 10.0
    seasonal_amplitude_k: float = 10.0
    coldest_day_of_year: float = 15.0
    diurnal_range_winter_k: float = 7.0
    diurnal_range_summer_k: float = 12.0
    warmest_hour_solar: float = 15.0
    synoptic_sd_k: float = 3.0
    synoptic_tau_h: float = 72.0
    short_sd_k: float = 0.8
    short_tau_h: float = 4.0
    clear_index_winter: float = 0.62
    clear_index_summer: float = 0.72
    cloud_sd: float = 0.3
    cloud_tau_h: float = 20.0


def ornstein_uhlenbeck(
    n: int, *, step_s: float, tau_s: float, sd: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """A stationary Ornstein-Uhlenbeck path sampled every ``step_s`` (exact AR(1) discretisation).

    Args:
        n: number of samples.
        step_s: sampling step [s] (> 0).
        tau_s: correlation time [s] (> 0).
        sd: stationary standard deviation [unit of the process].
        rng: random source.

    Returns:
        The path, shape ``(n,)``; its first value is drawn from the stationary distribution.
    """
    a = math.exp(-step_s / tau_s)
    noise = rng.standard_normal(n)
    noise[1:] *= sd * math.sqrt(1.0 - a * a)
    noise[0] *= sd
    return ar1_filter(noise, a)


def ar1_filter(noise: NDArray[np.float64], a: float) -> NDArray[np.float64]:
    """``x[..., k] = a x[..., k-1] + noise[..., k]`` along the last axis, with ``x[..., 0] = noise[..., 0]``.

    Vectorised in blocks: inside a block ``x_k = a^k (x_0 + sum_j a^-j e_j)``, with blocks short enough that
    ``a^-k`` stays below 1e6 (no loss of precision worth speaking of).

    Args:
        noise: innovations, any shape.
        a: AR coefficient in [0, 1).
    """
    out = np.array(noise, dtype=np.float64, copy=True)
    n = out.shape[-1]
    if n == 0 or a == 0.0:
        return out
    block = max(1, min(n, int(math.log(1e6) / -math.log(a))))
    carry = np.zeros(out.shape[:-1])
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        powers = a ** np.arange(1, hi - lo + 1, dtype=np.float64)
        chunk = out[..., lo:hi]
        out[..., lo:hi] = powers * (carry[..., None] + np.cumsum(chunk / powers, axis=-1))
        carry = out[..., hi - 1]
    return out


def _seasonal_phase(time_s: NDArray[np.float64], coldest_day: float) -> NDArray[np.float64]:
    # Day of year from Unix time (epoch = 1 January 1970, so the drift against calendar years is < 1 d).
    day_of_year = np.mod(time_s / _DAY_S, _YEAR_D)
    return np.asarray(2.0 * np.pi * (day_of_year - coldest_day) / _YEAR_D, dtype=np.float64)


class Weather:
    """The weather of one site over a time window ``[start_s, end_s]``.

    Args:
        start_s: window start, Unix time [s].
        end_s: window end, Unix time [s] (> start_s).
        seed: random seed.
        site: the place (longitude sets local solar time).
        climate: climate parameters.
        grid_s: grid of the stochastic processes [s].

    Raises:
        ValueError: an empty window or a non-positive grid.
    """

    def __init__(
        self,
        start_s: float,
        end_s: float,
        *,
        seed: int,
        site: Site = SION,
        climate: Climate | None = None,
        grid_s: float = 900.0,
    ) -> None:
        if not end_s > start_s:
            raise ValueError(f"weather window [{start_s}, {end_s}] is empty")
        if grid_s <= 0:
            raise ValueError(f"grid step {grid_s} s must be positive")
        self.site = site
        self.climate = climate or Climate()
        self.start_s = float(start_s)
        self.end_s = float(end_s)
        self.grid_s = float(grid_s)
        c = self.climate
        n = math.ceil((end_s - start_s) / grid_s) + 2
        rng = np.random.default_rng([seed, 0x57EA])
        self._grid_time_s = self.start_s + grid_s * np.arange(n, dtype=np.float64)
        self._anomaly_k = ornstein_uhlenbeck(
            n, step_s=grid_s, tau_s=c.synoptic_tau_h * 3600, sd=c.synoptic_sd_k, rng=rng
        ) + ornstein_uhlenbeck(n, step_s=grid_s, tau_s=c.short_tau_h * 3600, sd=c.short_sd_k, rng=rng)
        cloud = ornstein_uhlenbeck(n, step_s=grid_s, tau_s=c.cloud_tau_h * 3600, sd=1.0, rng=rng)
        summer = 0.5 * (1.0 - np.cos(_seasonal_phase(self._grid_time_s, c.coldest_day_of_year)))
        mean_k = c.clear_index_winter + (c.clear_index_summer - c.clear_index_winter) * summer
        self._clear_index = np.clip(mean_k + c.cloud_sd * cloud, 0.08, 1.0)

    def _check(self, t: NDArray[np.float64]) -> None:
        if t.size and (float(t.min()) < self.start_s or float(t.max()) > self.end_s + self.grid_s):
            raise ValueError(f"time outside the weather window [{self.start_s}, {self.end_s}]")

    def clear_sky_index(self, time_s: ArrayLike) -> NDArray[np.float64]:
        """All-sky / clear-sky global irradiance at ``time_s`` (Unix [s], any shape) [-], in [0.08, 1].

        Raises:
            ValueError: a time outside the window.
        """
        t = np.asarray(time_s, dtype=np.float64)
        self._check(t)
        return np.asarray(np.interp(t, self._grid_time_s, self._clear_index), dtype=np.float64)

    def temperature_c(self, time_s: ArrayLike) -> NDArray[np.float64]:
        """Outdoor air temperature at ``time_s`` (Unix [s], any shape) [C].

        Raises:
            ValueError: a time outside the window.
        """
        t = np.asarray(time_s, dtype=np.float64)
        self._check(t)
        c = self.climate
        phase = _seasonal_phase(t, c.coldest_day_of_year)
        seasonal = c.annual_mean_c - c.seasonal_amplitude_k * np.cos(phase)
        summer = 0.5 * (1.0 - np.cos(phase))
        diurnal_range = c.diurnal_range_winter_k + (c.diurnal_range_summer_k - c.diurnal_range_winter_k) * summer
        # Clear days have a larger range than overcast ones (radiative heating and cooling); the factor has
        # mean ~1 over the clear-sky index distribution.
        k = np.interp(t, self._grid_time_s, self._clear_index)
        diurnal_range = diurnal_range * (0.35 + k)
        solar_hour = np.mod(t / 3600.0 + self.site.longitude_deg / 15.0, 24.0)
        diurnal = 0.5 * diurnal_range * np.cos(2.0 * np.pi * (solar_hour - c.warmest_hour_solar) / 24.0)
        anomaly = np.interp(t, self._grid_time_s, self._anomaly_k)
        return np.asarray(seasonal + diurnal + anomaly, dtype=np.float64)
