"""The forecasting contract: quarter-hour history in, quantiles of the coming quarters out (pure).

What is forecast is the balance group's *natural* imbalance per quarter hour (load without DOMS's own actions
minus the day-ahead forecast) [MW], intraday, for leads of 1 to ``horizon`` quarters after the last known one
(physics-and-grid.md 7: an intraday correction from the latest measurements). The output is probabilistic
(quantiles), because the penalty is asymmetric (issue 5 section 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

QUANTILES: Final = (0.1, 0.5, 0.9)
"""Default quantile levels; the optimiser weighs them as scenarios (see :func:`scenario_weights`)."""
QUARTER_S: Final = 900.0


@dataclass(frozen=True, eq=False)
class History:
    """Quarter-hour series known so far, all arrays of shape ``(n,)``; the last entry is the latest quarter.

    Attributes:
        time_s: start of each quarter, Unix [s].
        imbalance_mw: natural imbalance estimate [MW] (NaN = unknown: data stopped).
        dayahead_mw: day-ahead forecast [MW].
        temp_c: outdoor temperature [C] (the weather forecast for future quarters is :attr:`future_temp_c`).
    """

    time_s: F64
    imbalance_mw: F64
    dayahead_mw: F64
    temp_c: F64


@dataclass(frozen=True, eq=False)
class Outlook:
    """What is known of the coming quarters at forecast time (no load): calendar, schedule and weather.

    Attributes:
        time_s: start of each coming quarter, Unix [s], shape ``(h,)``.
        dayahead_mw: day-ahead forecast [MW], shape ``(h,)``.
        temp_c: weather forecast [C], shape ``(h,)``.
    """

    time_s: F64
    dayahead_mw: F64
    temp_c: F64

    @property
    def horizon(self) -> int:
        """Number of coming quarters."""
        return int(self.time_s.size)


@dataclass(frozen=True)
class QuantileForecast:
    """Quantiles of the natural imbalance of the coming quarters.

    Attributes:
        levels: quantile levels, increasing, in (0, 1).
        values_mw: shape ``(len(levels), horizon)`` [MW], non-decreasing along the levels.
        model: name of the model that made it.
    """

    levels: tuple[float, ...]
    values_mw: F64
    model: str

    @property
    def median_mw(self) -> F64:
        """The level closest to 0.5 [MW]."""
        return np.asarray(self.values_mw[median_index(self.levels)], dtype=np.float64)


def median_index(levels: tuple[float, ...]) -> int:
    """Index of the level closest to 0.5."""
    return int(np.argmin([abs(q - 0.5) for q in levels]))


class Forecaster(Protocol):
    """An intraday imbalance model."""

    name: str

    def fit(self, history: History) -> None:
        """(Re)train on the history (may do nothing)."""
        ...

    def predict(self, history: History, outlook: Outlook) -> QuantileForecast | None:
        """Quantiles of the coming quarters, or None when the model is not ready (too little history)."""
        ...


def sorted_quantiles(values: F64) -> F64:
    """Quantile rows made non-decreasing along the levels (quantile regressions may cross)."""
    return np.asarray(np.sort(values, axis=0), dtype=np.float64)


def scenario_weights(levels: tuple[float, ...]) -> F64:
    """Probability weight of each quantile when the quantiles are used as scenarios.

    Each level stands for the probability mass between the midpoints to its neighbours (0 and 1 at the ends):
    (0.1, 0.5, 0.9) -> (0.3, 0.4, 0.3).
    """
    q = np.asarray(levels, dtype=np.float64)
    edges = np.concatenate([[0.0], 0.5 * (q[1:] + q[:-1]), [1.0]])
    return np.asarray(np.diff(edges), dtype=np.float64)


def pinball_loss(levels: tuple[float, ...], predicted: F64, actual: F64) -> float:
    """Mean pinball (quantile) loss [MW] of ``predicted`` (levels x n) against ``actual`` (n), NaN ignored."""
    mask = np.isfinite(actual)
    if not mask.any():
        return float("nan")
    q = np.asarray(levels)[:, None]
    diff = actual[None, mask] - predicted[:, mask]
    return float(np.mean(np.maximum(q * diff, (q - 1.0) * diff)))


def residual_quantiles(levels: tuple[float, ...], residuals: F64) -> F64:
    """Quantiles of residuals per lead: ``residuals`` shape (samples, horizon) -> (levels, horizon) [MW].

    Leads without samples get zero spread.
    """
    out = np.zeros((len(levels), residuals.shape[1]))
    for k in range(residuals.shape[1]):
        column = residuals[:, k]
        column = column[np.isfinite(column)]
        if column.size >= 5:
            out[:, k] = np.quantile(column, levels)
    return out


def lagged_matrix(series: F64, horizon: int, window: int) -> tuple[F64, F64]:
    """Origins and the values ``horizon`` steps after them, over the last ``window`` origins.

    Returns:
        ``origin`` values shape (m,) and ``future`` values shape (m, horizon) (NaN where unknown).
    """
    n = series.size
    start = max(0, n - horizon - window)
    stop = max(start, n - 1)
    origins = np.arange(start, stop)
    steps = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    future = np.where(steps < n, series[np.minimum(steps, n - 1)], np.nan)
    return series[origins], future
