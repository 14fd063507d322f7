"""Persistence: the coming quarters' imbalance equals the latest one (physics-and-grid.md 7) (pure).

The error is strongly persistent over 15-120 min, so this is the baseline every other model must beat. The
quantiles come from the empirical distribution of the change over each lead in the recent history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from goflex.doms.forecast.base import (
    F64,
    QUANTILES,
    History,
    Outlook,
    QuantileForecast,
    lagged_matrix,
    residual_quantiles,
)


@dataclass
class Persistence:
    """Last known quarter held constant, quantiles from the history of changes.

    Args:
        levels: quantile levels.
        window: origins of history used for the spread (default 7 days of quarters).
    """

    levels: tuple[float, ...] = QUANTILES
    window: int = 7 * 96
    name: str = "persistence"
    _spread: F64 = field(default_factory=lambda: np.zeros((0, 0)))

    def fit(self, history: History) -> None:
        """Learn the spread of ``i[t + k] - i[t]`` per lead ``k`` (up to 96 quarters)."""
        origin, future = lagged_matrix(history.imbalance_mw, 96, self.window)
        self._spread = residual_quantiles(self.levels, future - origin[:, None])

    def predict(self, history: History, outlook: Outlook) -> QuantileForecast | None:
        """The last finite value, plus the learnt spread; None without any finite value."""
        known = history.imbalance_mw[np.isfinite(history.imbalance_mw)]
        if known.size == 0:
            return None
        last = float(known[-1])
        h = outlook.horizon
        spread = np.zeros((len(self.levels), h))
        if self._spread.size:
            k = min(h, self._spread.shape[1])
            spread[:, :k] = self._spread[:, :k]
            spread[:, k:] = self._spread[:, k - 1 : k]
        return QuantileForecast(self.levels, last + spread, self.name)
