"""Gradient-boosted quantile model of the intraday imbalance (physics-and-grid.md 7) (pure).

One :class:`sklearn.ensemble.HistGradientBoostingRegressor` per quantile level with the quantile (pinball) loss,
trained on rows ``(origin, lead)``: the lead, the latest imbalance and a few lags and means, and the target
quarter's calendar and weather (:mod:`goflex.doms.forecast.features`). Trees take any nonlinearity of time of day,
holidays, temperature and PV, and how fast the error decays with the lead. Retrained on a sliding window; random
state fixed, so the same history gives the same model. Training and prediction run on one thread: the
batches are small (a day of rows, a horizon of predictions), where OpenMP's start-up costs ten times the work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from goflex.doms.forecast.base import F64, QUANTILES, History, Outlook, QuantileForecast, sorted_quantiles
from goflex.doms.forecast.features import calendar_features

TRAIN_LEADS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96)
LAGS = (0, 1, 2, 4, 8, 96)


def _state_features(series: F64, origin: int) -> F64:
    """Lags of the imbalance at ``origin`` (NaN beyond the start), and the means of the last 4 and 16 quarters."""
    lags = [series[origin - lag] if origin - lag >= 0 else np.nan for lag in LAGS]
    recent4 = series[max(0, origin - 3) : origin + 1]
    recent16 = series[max(0, origin - 15) : origin + 1]
    return np.array(
        [
            *lags,
            np.nanmean(recent4) if np.isfinite(recent4).any() else np.nan,
            np.nanmean(recent16) if np.isfinite(recent16).any() else np.nan,
        ]
    )


@dataclass
class GradientBoosting:
    """Quantile gradient boosting with calendar and weather features.

    Args:
        levels: quantile levels.
        window: quarters of history used to train (default 21 days).
        min_history: quarters needed before the model is trained (default 2 days).
        max_iter: boosting iterations per level.
        seed: random state of the trees.
    """

    levels: tuple[float, ...] = QUANTILES
    window: int = 21 * 96
    min_history: int = 2 * 96
    max_iter: int = 60
    seed: int = 0
    name: str = "gradient_boosting"
    _models: list[Any] = field(default_factory=list)

    def fit(self, history: History) -> None:
        """Train one regressor per level on the last ``window`` quarters (nothing with too little history)."""
        y = history.imbalance_mw
        n = y.size
        if n < self.min_history:
            return
        calendar = calendar_features(history.time_s, history.temp_c, history.dayahead_mw)
        x_rows, targets = [], []
        for origin in range(max(0, n - self.window), n - 1, 2):
            if not np.isfinite(y[origin]):
                continue
            state = _state_features(y, origin)
            for lead in TRAIN_LEADS:
                target = origin + lead
                if target < n and np.isfinite(y[target]):
                    x_rows.append(np.concatenate([[lead], state, calendar[target]]))
                    targets.append(y[target])
        if len(targets) < 200:
            return
        x, t = np.asarray(x_rows), np.asarray(targets)
        with threadpool_limits(1):
            self._models = [self._fit_level(q, x, t) for q in self.levels]

    def _fit_level(self, q: float, x: F64, t: F64) -> Any:
        return HistGradientBoostingRegressor(
            loss="quantile",
            quantile=q,
            max_iter=self.max_iter,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            random_state=self.seed,
        ).fit(x, t)

    def predict(self, history: History, outlook: Outlook) -> QuantileForecast | None:
        """Quantiles for leads 1..horizon; None before training or with an unknown latest quarter."""
        y = history.imbalance_mw
        if not self._models or not np.isfinite(y[-1]):
            return None
        state = _state_features(y, y.size - 1)
        calendar = calendar_features(outlook.time_s, outlook.temp_c, outlook.dayahead_mw)
        h = outlook.horizon
        x = np.column_stack([np.arange(1, h + 1), np.tile(state, (h, 1)), calendar])
        with threadpool_limits(1):
            values = np.stack([np.asarray(m.predict(x), dtype=np.float64) for m in self._models])
        return QuantileForecast(self.levels, sorted_quantiles(values), self.name)
