"""Forecasts that know more than any real one: the bounds that explain DOMS's gap to the oracle (pure).

The evaluation's oracle (issue 5 section 3) knows the whole future natural imbalance, its noise included. These
forecasters give the *real* controller (live data with its holes and stops, its estimate of its own effect,
its within-quarter replans) some of that knowledge, so the gap can be split into what better forecasting could
close and what nobody can:

* :class:`PerfectForecast`: the true natural imbalance of every coming quarter (the oracle's forecast);
* :class:`PerfectThenPersistence`: the truth for the first ``lead`` quarters, then the last of them held: how far
  ahead the future must be known;
* :class:`PerfectSmooth`: the future *smooth* imbalance (everything but the short drift and the white noise of
  the 5-minute values, :meth:`goflex.doms.forecast_error.ResidualParts.noise_mw`), with the noise's quantiles as
  the spread: the best any forecaster can do, since that noise is independent of every observation;
* :class:`LevelNow`: the smooth imbalance of the *latest* quarter exactly (a perfect filter of the present), its
  future from the empirical distribution of the change over each lead: what a perfect estimate of the present
  is worth without any knowledge of the future.

The smooth series needs the generator's noise (``truth.csv``, :mod:`goflex.doms.truth_file`): these are research
tools for generated scenarios, never used by the live service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from goflex.doms.forecast.base import F64, QUANTILES, History, Outlook, QuantileForecast

QUARTER_POINTS = 3
"""5-minute values per quarter hour."""


def _coming(series: F64, quarter: int, horizon: int) -> F64:
    """``series`` for quarters ``quarter + 1 ..`` (``horizon`` of them; the last value repeated past the end)."""
    idx = np.minimum(np.arange(quarter + 1, quarter + 1 + horizon), series.size - 1)
    return np.asarray(series[idx], dtype=np.float64)


def quarter_means(values_5min: F64) -> F64:
    """Quarter-hour means of 5-minute values (whole quarters)."""
    return np.asarray(values_5min.reshape(-1, QUARTER_POINTS).mean(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class PerfectForecast:
    """The true natural imbalance of the coming quarters (one scenario, weight 1).

    Attributes:
        natural_mw: the natural imbalance of every quarter of the scenario [MW].
    """

    natural_mw: F64

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        """The truth for quarters ``quarter + 1 ..``."""
        del history
        return QuantileForecast((0.5,), _coming(self.natural_mw, quarter, outlook.horizon)[None, :], "perfect")


@dataclass(frozen=True)
class PerfectThenPersistence:
    """The truth for ``lead`` quarters, then the last of them held.

    Attributes:
        natural_mw: the natural imbalance of every quarter [MW].
        lead: quarters known perfectly (>= 1).
    """

    natural_mw: F64
    lead: int

    def __post_init__(self) -> None:
        if self.lead < 1:
            raise ValueError("lead must be at least one quarter")

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        """The truth for the first ``lead`` coming quarters, persistence after them."""
        del history
        values = _coming(self.natural_mw, quarter, outlook.horizon)
        values[self.lead :] = values[min(self.lead, values.size) - 1]
        return QuantileForecast((0.5,), values[None, :], f"perfect_{self.lead}q")


@dataclass(frozen=True)
class PerfectSmooth:
    """The future smooth imbalance, plus the quantiles of the quarter noise as the spread.

    Attributes:
        natural_mw: the natural imbalance of every quarter [MW].
        noise_mw: its unforecastable part per quarter [MW] (quarter means of ``truth.csv``'s ``noise_mw``).
        levels: quantile levels.
    """

    natural_mw: F64
    noise_mw: F64
    levels: tuple[float, ...] = QUANTILES

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        """Smooth truth of the coming quarters plus the noise's quantiles."""
        del history
        smooth = _coming(self.natural_mw - self.noise_mw, quarter, outlook.horizon)
        spread = np.quantile(self.noise_mw, self.levels)
        return QuantileForecast(self.levels, smooth[None, :] + spread[:, None], "perfect_smooth")


@dataclass
class LevelNow:
    """The latest quarter's smooth imbalance exactly, the future from the empirical change per lead.

    The spread is computed once over the whole scenario (``natural[t + k] - smooth[t]`` for every ``t``): it
    uses the future's statistics, not its values, which is what an upper bound may do.

    Attributes:
        natural_mw: the natural imbalance of every quarter [MW].
        noise_mw: its unforecastable part per quarter [MW].
        levels: quantile levels.
        max_lead: leads with their own spread (longer ones reuse the last).
    """

    natural_mw: F64
    noise_mw: F64
    levels: tuple[float, ...] = QUANTILES
    max_lead: int = 96
    _spread: F64 = field(init=False, repr=False)

    def __post_init__(self) -> None:
        smooth = self.natural_mw - self.noise_mw
        m = smooth.size
        leads = min(self.max_lead, max(m - 1, 1))
        change = np.full((m, leads), np.nan)
        for k in range(1, leads + 1):
            change[: m - k, k - 1] = self.natural_mw[k:] - smooth[: m - k]
        spread = np.zeros((len(self.levels), leads))
        for k in range(leads):
            column = change[np.isfinite(change[:, k]), k]
            if column.size:
                spread[:, k] = np.quantile(column, self.levels)
        self._spread = spread

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        """The smooth level of ``quarter`` plus the change's quantiles per lead."""
        del history
        i = min(quarter, self.natural_mw.size - 1)
        now = float(self.natural_mw[i] - self.noise_mw[i])
        h = outlook.horizon
        leads = np.minimum(np.arange(h), self._spread.shape[1] - 1)
        return QuantileForecast(self.levels, now + self._spread[:, leads], "level_now")
