"""Intraday forecasts of the balance group's imbalance: persistence, AR, local level, boosting, rolling selection.

Pure: numpy and scikit-learn only (physics-and-grid.md 7; issue 5 section 2).
"""

from goflex.doms.forecast.autoregressive import Autoregressive
from goflex.doms.forecast.base import (
    QUANTILES,
    Forecaster,
    History,
    Outlook,
    QuantileForecast,
    pinball_loss,
    scenario_weights,
)
from goflex.doms.forecast.boosting import GradientBoosting
from goflex.doms.forecast.local_level import LocalLevel
from goflex.doms.forecast.persistence import Persistence
from goflex.doms.forecast.selection import Selector, default_models

__all__ = [
    "QUANTILES",
    "Autoregressive",
    "Forecaster",
    "GradientBoosting",
    "History",
    "LocalLevel",
    "Outlook",
    "Persistence",
    "QuantileForecast",
    "Selector",
    "default_models",
    "pinball_loss",
    "scenario_weights",
]
