"""Autoregressive model of the day-ahead forecast error (physics-and-grid.md 7) (pure).

``i[t+1] = c + a_1 i[t] + ... + a_p i[t-p+1] + e`` fitted by least squares on the recent history of quarter
imbalances, iterated for multi-step forecasts (the error decays towards the mean ``c / (1 - sum a)``). The
quantiles are the empirical quantiles of the model's own k-step errors on the fitting window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from goflex.doms.forecast.base import F64, QUANTILES, History, Outlook, QuantileForecast, residual_quantiles

MAX_LEAD = 96


@dataclass
class Autoregressive:
    """AR(p) on the quarter imbalance.

    Args:
        order: p, the number of lags (>= 1).
        window: quarters of history used to fit (default 14 days).
        levels: quantile levels.
    """

    order: int = 4
    window: int = 14 * 96
    levels: tuple[float, ...] = QUANTILES
    name: str = "autoregressive"
    _coef: F64 = field(default_factory=lambda: np.zeros(0))
    _spread: F64 = field(default_factory=lambda: np.zeros((0, 0)))

    def fit(self, history: History) -> None:
        """Fit the coefficients and the spread of the k-step errors; too little history leaves it unready."""
        y = history.imbalance_mw[-self.window :]
        p = self.order
        if y.size < 10 * p + 20:
            return
        lags = np.stack([y[p - 1 - j : y.size - 1 - j] for j in range(p)], axis=1)
        target = y[p:]
        rows = np.isfinite(target) & np.all(np.isfinite(lags), axis=1)
        if rows.sum() < 5 * p:
            return
        design = np.column_stack([np.ones(int(rows.sum())), lags[rows]])
        self._coef, *_ = np.linalg.lstsq(design, target[rows], rcond=None)
        # k-step errors over the fitting window (every 4th origin is enough for the spread)
        origins = np.arange(p - 1, y.size - 1, 4)
        errors = np.full((origins.size, MAX_LEAD), np.nan)
        for row, o in enumerate(origins):
            recent = y[o - p + 1 : o + 1][::-1]
            if np.all(np.isfinite(recent)):
                path = self._iterate(recent, MAX_LEAD)
                steps = o + 1 + np.arange(MAX_LEAD)
                ok = steps < y.size
                errors[row, ok] = y[steps[ok]] - path[ok]
        self._spread = residual_quantiles(self.levels, errors)

    def _iterate(self, recent: F64, horizon: int) -> F64:
        """Forecast path from the latest ``p`` values (newest first)."""
        c, a = float(self._coef[0]), self._coef[1:]
        lags = list(recent)
        out = np.empty(horizon)
        for k in range(horizon):
            nxt = c + float(np.dot(a, lags[: a.size]))
            out[k] = nxt
            lags.insert(0, nxt)
        return out

    def predict(self, history: History, outlook: Outlook) -> QuantileForecast | None:
        """The iterated path plus the learnt spread; None before fitting or with unknown recent values."""
        if self._coef.size == 0:
            return None
        recent = history.imbalance_mw[-self.order :][::-1]
        if recent.size < self.order or not np.all(np.isfinite(recent)):
            return None
        h = outlook.horizon
        path = self._iterate(recent, h)
        spread = np.zeros((len(self.levels), h))
        k = min(h, self._spread.shape[1])
        spread[:, :k] = self._spread[:, :k]
        spread[:, k:] = self._spread[:, k - 1 : k]
        return QuantileForecast(self.levels, path[None, :] + spread, self.name)
