"""What the day-ahead forecast cannot know, and what the live measurement gets wrong (pure; seed 3.3.1-3.3.2).

The day-ahead forecast is the load model fed with *forecast* weather (:func:`weather_forecast_errors`): a
temperature error with a persistence of about a day and a PV (cloudiness) error of a few hours. The load itself
carries what no weather forecast explains (:func:`residual_mw`):

* day-part biases: piecewise constant levels over blocks of hours (the forecaster's profile is wrong for the
  afternoon; a large customer runs a shift nobody announced), Student-t distributed so a few are large. These
  make the long runs that hold most of the imbalance energy (seed 3.3.1: "long duration errors represent a
  substantial amount of total imbalance energy", up to ~5 h and > 10 MWh);
* a slow Ornstein-Uhlenbeck drift and a short one (tens of minutes);
* white noise per 5-minute value (the TG8000 reading itself).

Parameters (:data:`CALIBRATED`) were fitted so that a generated year reproduces the seed's 2016 statistics
(82 % of quarters within +/-5 MW, ~5,000 runs, 77 % within +/-2 MWh, 74 % under 60 min, 7.8 % / 13.0 % of the
energy in runs under 2 / 5 MWh); see docs/doms-scenarios.md for the figures measured.

:func:`inject_defects` then damages the live series as a real feed is damaged (seed 3.3.2: "the data need to be
coherent, holes in the data might occur"): holes, stuck values and spikes, at a low rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.twin.weather import ornstein_uhlenbeck

STEP_S: Final = 300.0
STEPS_PER_HOUR: Final = 12


@dataclass(frozen=True)
class ResidualParameters:
    """The unforecastable part of the load.

    Attributes:
        block_sd_mw: scale of the day-part biases [MW] (Student-t, 4 degrees of freedom, this standard deviation).
        block_mean_h: mean length of a day-part block [h] (exponential).
        slow_sd_mw: standard deviation of the slow drift [MW].
        slow_tau_h: its correlation time [h].
        fast_sd_mw: standard deviation of the short drift [MW].
        fast_tau_min: its correlation time [min].
        white_sd_mw: standard deviation of the noise of each 5-minute value [MW].
    """

    block_sd_mw: float
    block_mean_h: float
    slow_sd_mw: float
    slow_tau_h: float
    fast_sd_mw: float
    fast_tau_min: float
    white_sd_mw: float


CALIBRATED: Final = ResidualParameters(
    block_sd_mw=3.78,
    block_mean_h=6.7,
    slow_sd_mw=0.5,
    slow_tau_h=6.5,
    fast_sd_mw=0.66,
    fast_tau_min=10.0,
    white_sd_mw=2.14,
)


@dataclass(frozen=True)
class WeatherForecastErrors:
    """How wrong the day-ahead weather forecast is, every 5 minutes.

    Attributes:
        temp_k: forecast minus actual outdoor temperature [K].
        pv_log: log of forecast over actual PV power [-] (a multiplicative error).
    """

    temp_k: NDArray[np.float64]
    pv_log: NDArray[np.float64]


def weather_forecast_errors(
    n: int, rng: np.random.Generator, *, temp_sd_k: float = 1.0, temp_tau_h: float = 18.0, pv_sd: float = 0.25
) -> WeatherForecastErrors:
    """Day-ahead weather forecast errors for ``n`` 5-minute steps (OU processes).

    Args:
        n: number of steps.
        rng: random source.
        temp_sd_k: standard deviation of the temperature error [K] (day-ahead: about 1-1.5 K).
        temp_tau_h: its persistence [h].
        pv_sd: standard deviation of the log PV error [-] (persistence 4 h).
    """
    temp = ornstein_uhlenbeck(n, step_s=STEP_S, tau_s=temp_tau_h * 3600.0, sd=temp_sd_k, rng=rng)
    pv = ornstein_uhlenbeck(n, step_s=STEP_S, tau_s=4 * 3600.0, sd=pv_sd, rng=rng)
    return WeatherForecastErrors(temp_k=temp, pv_log=pv)


def day_part_blocks(
    n: int, rng: np.random.Generator, *, sd_mw: float, mean_h: float, dof: float = 4.0
) -> NDArray[np.float64]:
    """Piecewise constant levels over blocks of exponential length (mean ``mean_h``) [MW], shape ``(n,)``."""
    if sd_mw == 0.0:
        return np.zeros(n)
    mean_steps = mean_h * STEPS_PER_HOUR
    k = math.ceil(3 * n / mean_steps) + 16
    lengths = np.maximum(rng.exponential(mean_steps, k).astype(np.int64), 1)
    while int(lengths.sum()) < n:  # practically never: 3x the expected number of blocks
        lengths = np.concatenate((lengths, np.maximum(rng.exponential(mean_steps, k).astype(np.int64), 1)))
    # Student-t with `dof` degrees of freedom has variance dof / (dof - 2).
    levels = rng.standard_t(dof, lengths.size) * sd_mw / math.sqrt(dof / (dof - 2.0))
    return np.asarray(np.repeat(levels, lengths)[:n], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ResidualParts:
    """The unforecastable part of the load by component, every 5 minutes [MW], each of shape ``(n,)``.

    Attributes:
        blocks: day-part biases.
        slow: slow drift.
        fast: short drift (tens of minutes).
        white: noise of each 5-minute value.
    """

    blocks: NDArray[np.float64]
    slow: NDArray[np.float64]
    fast: NDArray[np.float64]
    white: NDArray[np.float64]

    @property
    def total_mw(self) -> NDArray[np.float64]:
        """The sum of the components (what the live load carries)."""
        return np.asarray(self.blocks + self.slow + self.fast + self.white, dtype=np.float64)

    @property
    def noise_mw(self) -> NDArray[np.float64]:
        """The short drift plus the white noise: what no intraday forecast can know even in principle (the
        bounds of :mod:`goflex.doms.forecast.bounds` separate it from the rest)."""
        return np.asarray(self.fast + self.white, dtype=np.float64)


def residual_parts(n: int, rng: np.random.Generator, params: ResidualParameters = CALIBRATED) -> ResidualParts:
    """The unforecastable part of the load by component (draws in a fixed order: same rng, same parts)."""
    blocks = day_part_blocks(n, rng, sd_mw=params.block_sd_mw, mean_h=params.block_mean_h)
    slow = ornstein_uhlenbeck(n, step_s=STEP_S, tau_s=params.slow_tau_h * 3600.0, sd=params.slow_sd_mw, rng=rng)
    fast = ornstein_uhlenbeck(n, step_s=STEP_S, tau_s=params.fast_tau_min * 60.0, sd=params.fast_sd_mw, rng=rng)
    white = rng.standard_normal(n) * params.white_sd_mw
    return ResidualParts(blocks=blocks, slow=slow, fast=fast, white=white)


def residual_mw(n: int, rng: np.random.Generator, params: ResidualParameters = CALIBRATED) -> NDArray[np.float64]:
    """The unforecastable part of the load, every 5 minutes [MW], shape ``(n,)``, mean ~0."""
    return residual_parts(n, rng, params).total_mw


@dataclass(frozen=True)
class DefectRates:
    """How often the live feed is damaged (events per day, each lasting a random time).

    Attributes:
        holes_per_day: single missing values.
        outages_per_day: outages of 15 min to 2 h (all values missing).
        stuck_per_day: the reading freezes at its last value for 20 min to 2 h.
        spikes_per_day: one value off by 15-40 MW (either sign).
    """

    holes_per_day: float = 0.3
    outages_per_day: float = 0.03
    stuck_per_day: float = 0.03
    spikes_per_day: float = 0.05


@dataclass(frozen=True, eq=False)
class Defects:
    """The damaged series and where it was damaged (row indices).

    Attributes:
        load_mw: the live series with holes (NaN), stuck values and spikes.
        missing: rows set to NaN.
        stuck: rows holding a stuck value.
        spikes: rows with a spike.
    """

    load_mw: NDArray[np.float64]
    missing: NDArray[np.int64]
    stuck: NDArray[np.int64]
    spikes: NDArray[np.int64]


def _spans(n: int, count: int, lo: int, hi: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    starts = rng.integers(0, max(n - 1, 1), count)
    lengths = rng.integers(lo, hi + 1, count)
    return [(int(s), int(min(n, s + m))) for s, m in zip(starts, lengths, strict=True)]


def inject_defects(load_mw: NDArray[np.float64], rng: np.random.Generator, rates: DefectRates) -> Defects:
    """Damage a copy of ``load_mw`` (5-minute values) at ``rates``."""
    n = load_mw.size
    days = n / 288.0
    out = np.array(load_mw, dtype=np.float64, copy=True)
    stuck: list[int] = []
    for s, e in _spans(n, int(rng.poisson(rates.stuck_per_day * days)), 4, 24, rng):
        if s > 0:
            out[s:e] = out[s - 1]
            stuck.extend(range(s, e))
    spike_rows = rng.integers(0, n, int(rng.poisson(rates.spikes_per_day * days)))
    out[spike_rows] += rng.choice([-1.0, 1.0], spike_rows.size) * rng.uniform(15.0, 40.0, spike_rows.size)
    missing = {int(i) for i in rng.integers(0, n, int(rng.poisson(rates.holes_per_day * days)))}
    for s, e in _spans(n, int(rng.poisson(rates.outages_per_day * days)), 3, 24, rng):
        missing.update(range(s, e))
    missing_rows = np.asarray(sorted(missing), dtype=np.int64)
    out[missing_rows] = np.nan
    return Defects(
        load_mw=out,
        missing=missing_rows,
        stuck=np.asarray(sorted(set(stuck) - missing), dtype=np.int64),
        spikes=np.asarray(sorted({int(i) for i in spike_rows} - missing), dtype=np.int64),
    )
