"""Model choice by rolling validation (issue 5 section 2: "pick by rolling validation") (pure).

Every model forecasts at every quarter; once the quarters it forecast are known, its pinball loss over all
levels and leads is added to an exponentially weighted score (half-life :attr:`Selector.half_life_quarters`).
The forecast used is the one of the model with the lowest score among those ready, with persistence as the
fallback (it needs one known quarter only). Retraining happens every :attr:`Selector.refit_every` quarters on
the history known then: nothing ever sees the future.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from goflex.doms.forecast.autoregressive import Autoregressive
from goflex.doms.forecast.base import F64, Forecaster, History, Outlook, QuantileForecast, pinball_loss
from goflex.doms.forecast.boosting import GradientBoosting
from goflex.doms.forecast.local_level import LocalLevel
from goflex.doms.forecast.persistence import Persistence


def default_models(seed: int = 0) -> list[Forecaster]:
    """Persistence, AR(4), the damped local level and quantile gradient boosting (issue 5 section 2 asks for the
    first, second and fourth; the local level filters the present level from the noise of its latest quarters)."""
    return [Persistence(), Autoregressive(), LocalLevel(), GradientBoosting(seed=seed)]


@dataclass(frozen=True)
class _Made:
    """A forecast made at quarter ``origin`` (its first value is for ``origin + 1``)."""

    origin: int
    values_mw: F64
    levels: tuple[float, ...]


@dataclass
class Selector:
    """Runs the models, scores them as the truth arrives and returns the best one's forecast.

    Args:
        models: the candidates; the first is the fallback and must always be ready once a value is known.
        refit_every: quarters between retraining (default one day).
        half_life_quarters: half-life of the score (default 2 days).
        min_scored: scored forecasts before a model may replace the fallback.
    """

    models: list[Forecaster] = field(default_factory=default_models)
    refit_every: int = 96
    half_life_quarters: float = 192.0
    min_scored: int = 48
    scores: dict[str, float] = field(default_factory=dict)
    scored: dict[str, int] = field(default_factory=dict)
    _made: dict[str, deque[_Made]] = field(default_factory=dict)
    _last_fit: int = -(10**9)

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        """The selected forecast for quarters ``quarter + 1 ..`` given the history up to ``quarter``.

        Raises:
            ValueError: when no model can forecast (no known value at all): the caller must not act.
        """
        self._score(quarter, history.imbalance_mw)
        if quarter - self._last_fit >= self.refit_every:
            for model in self.models:
                model.fit(history)
            self._last_fit = quarter
        made: dict[str, QuantileForecast] = {}
        for model in self.models:
            result = model.predict(history, outlook)
            if result is not None:
                made[model.name] = result
                self._made.setdefault(model.name, deque(maxlen=outlook.horizon + 1)).append(
                    _Made(quarter, result.values_mw, result.levels)
                )
        if not made:
            raise ValueError("no forecast model is ready (no known imbalance yet)")
        return made[self.best(list(made))]

    def best(self, ready: list[str]) -> str:
        """The ready model with the lowest score (the fallback until others have enough scored forecasts)."""
        fallback = self.models[0].name
        eligible = [m for m in ready if m == fallback or self.scored.get(m, 0) >= self.min_scored]
        return min(eligible, key=lambda m: (self.scores.get(m, np.inf), m != fallback)) if eligible else ready[0]

    def _score(self, quarter: int, series: F64) -> None:
        """Score the forecasts whose target quarter ``quarter`` is now known."""
        decay = 0.5 ** (1.0 / self.half_life_quarters)
        for name, made in self._made.items():
            for m in made:
                lead = quarter - m.origin
                if 1 <= lead <= m.values_mw.shape[1] and quarter < series.size:
                    loss = pinball_loss(m.levels, m.values_mw[:, lead - 1 : lead], series[quarter : quarter + 1])
                    if np.isfinite(loss):
                        old = self.scores.get(name)
                        self.scores[name] = loss if old is None else decay * old + (1 - decay) * loss
                        self.scored[name] = self.scored.get(name, 0) + 1
