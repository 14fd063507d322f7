"""Damped local level: the imbalance's present level filtered from its noise, then decaying to its mean (pure).

The quarter imbalance is a level that wanders (the day-part biases of the load and the weather forecast) seen
through noise (the white noise and short drift of each 5-minute value, physics-and-grid.md 5). Persistence takes
the latest quarter as the level, noise included; this model is the steady-state Kalman filter of a local level
(simple exponential smoothing, ``L[t] = L[t-1] + alpha (y[t] - L[t-1])``; an unknown quarter leaves the level
as it is) and forecasts ``mean + phi^k (L[t] - mean)`` at lead ``k``. ``alpha`` and ``phi`` are chosen on the
recent history by the mean squared error over the first ``fit_leads`` leads (a grid search: two parameters,
a day's refit); the quantiles are the empirical quantiles of its own k-step errors, as for the AR model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from goflex.doms.forecast.base import F64, QUANTILES, History, Outlook, QuantileForecast, residual_quantiles

MAX_LEAD = 96
_MEMORY = 64  # quarters the filter re-reads at each forecast: (1 - 0.2)^64 < 1e-6 of the oldest one remains


def smoothed_levels(y: F64, alpha: float) -> F64:
    """The filtered level after each value (NaN before the first known value; unknown values keep the level)."""
    out = np.full(y.size, np.nan)
    level = np.nan
    for t, value in enumerate(y):
        if np.isfinite(value):
            level = value if not np.isfinite(level) else level + alpha * (value - level)
        out[t] = level
    return out


@dataclass
class LocalLevel:
    """Damped simple exponential smoothing of the quarter imbalance.

    Args:
        alphas: smoothing weights tried (1 = persistence of the last value).
        phis: damping factors per quarter tried (1 = the level holds).
        window: quarters of history used to fit (default 14 days).
        fit_leads: leads whose squared errors choose the parameters (default 2 h, where the money is).
        levels: quantile levels.
    """

    alphas: tuple[float, ...] = (0.25, 0.35, 0.5, 0.65, 0.8, 1.0)
    phis: tuple[float, ...] = (1.0, 0.995, 0.98, 0.95, 0.9)
    window: int = 14 * 96
    fit_leads: int = 8
    levels: tuple[float, ...] = QUANTILES
    name: str = "local_level"
    alpha: float = float("nan")
    phi: float = 1.0
    mean_mw: float = 0.0
    _spread: F64 = field(default_factory=lambda: np.zeros((0, 0)))

    def fit(self, history: History) -> None:
        """Choose ``alpha`` and ``phi`` and learn the spread; too little history leaves the model unready."""
        y = history.imbalance_mw[-self.window :]
        known = np.isfinite(y)
        if known.sum() < 4 * 96:
            return
        self.mean_mw = float(np.mean(y[known]))
        best = (np.inf, float("nan"), 1.0)
        for alpha in self.alphas:
            level = smoothed_levels(y, alpha)
            for phi in self.phis:
                err = self._errors(y, level, phi, self.fit_leads, step=1)
                score = float(np.nanmean(err**2)) if np.isfinite(err).any() else np.inf
                if score < best[0]:
                    best = (score, alpha, phi)
        _, self.alpha, self.phi = best
        if not np.isfinite(self.alpha):
            return
        errors = self._errors(y, smoothed_levels(y, self.alpha), self.phi, MAX_LEAD, step=4)
        self._spread = residual_quantiles(self.levels, errors)

    def _errors(self, y: F64, level: F64, phi: float, leads: int, *, step: int) -> F64:
        """``y[o + k] - forecast`` for origins ``o`` (every ``step``-th) and leads ``k = 1..leads`` (NaN unknown)."""
        origins = np.arange(0, y.size - 1, step)
        steps = origins[:, None] + np.arange(1, leads + 1)[None, :]
        actual = np.where(steps < y.size, y[np.minimum(steps, y.size - 1)], np.nan)
        decay = phi ** np.arange(1, leads + 1)
        path = self.mean_mw + decay[None, :] * (level[origins, None] - self.mean_mw)
        return np.asarray(actual - path, dtype=np.float64)

    def predict(self, history: History, outlook: Outlook) -> QuantileForecast | None:
        """The damped path from the filtered present level plus the learnt spread; None before fitting."""
        if not np.isfinite(self.alpha) or self._spread.size == 0:
            return None
        level = smoothed_levels(history.imbalance_mw[-_MEMORY:], self.alpha)[-1]
        if not np.isfinite(level):
            return None
        h = outlook.horizon
        path = self.mean_mw + self.phi ** np.arange(1, h + 1) * (level - self.mean_mw)
        spread = np.zeros((len(self.levels), h))
        k = min(h, self._spread.shape[1])
        spread[:, :k] = self._spread[:, :k]
        spread[:, k:] = self._spread[:, k - 1 : k]
        return QuantileForecast(self.levels, path[None, :] + spread, self.name)
