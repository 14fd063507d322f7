"""The evaluation's bounds: forecasts that know (part of) the future, checked on hand-made series."""

from __future__ import annotations

import numpy as np
import pytest

from goflex.doms.forecast.base import History, Outlook
from goflex.doms.forecast.bounds import LevelNow, PerfectForecast, PerfectSmooth, PerfectThenPersistence, quarter_means

EMPTY = History(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))


def _outlook(horizon: int) -> Outlook:
    return Outlook(np.arange(horizon, dtype=np.float64) * 900.0, np.zeros(horizon), np.zeros(horizon))


def test_perfect_is_the_coming_quarters_with_the_last_repeated() -> None:
    natural = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    f = PerfectForecast(natural).forecast(1, EMPTY, _outlook(5))
    assert f.levels == (0.5,)
    np.testing.assert_array_equal(f.values_mw[0], [2.0, 3.0, 4.0, 4.0, 4.0])


def test_perfect_then_persistence_holds_the_last_known_quarter() -> None:
    natural = np.arange(10, dtype=np.float64)
    f = PerfectThenPersistence(natural, lead=2).forecast(3, EMPTY, _outlook(5))
    np.testing.assert_array_equal(f.values_mw[0], [4.0, 5.0, 5.0, 5.0, 5.0])
    assert f.model == "perfect_2q"
    with pytest.raises(ValueError, match="lead"):
        PerfectThenPersistence(natural, lead=0)


def test_perfect_smooth_adds_the_noise_quantiles_to_the_smooth_truth() -> None:
    smooth = np.array([5.0, -5.0, 5.0, -5.0, 5.0])
    noise = np.array([-1.0, 0.0, 1.0, 0.0, 0.0])
    f = PerfectSmooth(smooth + noise, noise, levels=(0.0, 0.5, 1.0)).forecast(0, EMPTY, _outlook(3))
    np.testing.assert_allclose(f.values_mw, [[-6.0, 4.0, -6.0], [-5.0, 5.0, -5.0], [-4.0, 6.0, -4.0]])


def test_level_now_knows_the_present_level_and_the_empirical_change_per_lead() -> None:
    # smooth level steps from 0 to 2 after quarter 3; the noise hides it in the natural series
    smooth = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0])
    noise = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    model = LevelNow(smooth + noise, noise, levels=(0.0, 1.0), max_lead=2)
    f = model.forecast(3, EMPTY, _outlook(3))
    # lead 1 changes natural[t+1] - smooth[t] over t = 0..6: 1-0, -1-0, 1-0, 3-0, 1-2, 3-2, 1-2 -> min -1, max 3
    np.testing.assert_allclose(f.values_mw[:, 0], [0.0 - 1.0, 0.0 + 3.0])
    # leads beyond max_lead reuse the last spread
    np.testing.assert_allclose(f.values_mw[:, 2], f.values_mw[:, 1])


def test_quarter_means() -> None:
    np.testing.assert_allclose(quarter_means(np.array([1.0, 2.0, 3.0, 0.0, 0.0, 3.0])), [2.0, 1.0])
