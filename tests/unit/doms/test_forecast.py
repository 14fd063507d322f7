"""Intraday forecasts: persistence, AR, local level, quantile boosting and the rolling selection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.doms.forecast import (
    Autoregressive,
    GradientBoosting,
    History,
    Outlook,
    Persistence,
    Selector,
    pinball_loss,
    scenario_weights,
)
from goflex.doms.forecast.local_level import LocalLevel, smoothed_levels

START = 1_452_211_200.0


def _ar_series(n: int, seed: int = 0, phi: float = 0.9) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal(0.0, 1.0)
    return x


def _history(y: np.ndarray) -> History:
    n = y.size
    return History(START + 900.0 * np.arange(n), y, np.full(n, 60.0), np.full(n, 2.0))


def _outlook(n: int, h: int) -> Outlook:
    return Outlook(START + 900.0 * np.arange(n, n + h), np.full(h, 60.0), np.full(h, 2.0))


def test_scenario_weights_and_pinball_by_hand() -> None:
    assert scenario_weights((0.1, 0.5, 0.9)) == pytest.approx([0.3, 0.4, 0.3])
    # actual 1 above a median forecast of 0: loss 0.5 x 1
    assert pinball_loss((0.5,), np.array([[0.0]]), np.array([1.0])) == pytest.approx(0.5)


def test_persistence_holds_the_last_value_with_a_growing_spread() -> None:
    y = _ar_series(600)
    model = Persistence()
    model.fit(_history(y))
    f = model.predict(_history(y), _outlook(600, 16))
    assert f is not None
    assert f.median_mw == pytest.approx(y[-1] + model._spread[1, :16], abs=1e-9)
    spread = f.values_mw[2] - f.values_mw[0]
    assert spread[-1] > spread[0] > 0


def test_autoregressive_learns_the_decay() -> None:
    y = _ar_series(2000, phi=0.9)
    model = Autoregressive(order=2)
    model.fit(_history(y))
    assert model._coef[1] == pytest.approx(0.9, abs=0.05)
    y_last = np.concatenate([y, [10.0]])
    f = model.predict(_history(y_last), _outlook(y_last.size, 8))
    assert f is not None
    assert 5.0 < f.median_mw[0] < 11.0
    assert abs(f.median_mw[-1]) < abs(f.median_mw[0])


def test_boosting_is_deterministic_and_its_quantiles_ordered() -> None:
    y = _ar_series(4 * 96, seed=4) + 2.0 * np.sin(np.arange(4 * 96) / 96 * 2 * np.pi)
    a, b = GradientBoosting(seed=1, max_iter=20), GradientBoosting(seed=1, max_iter=20)
    a.fit(_history(y))
    b.fit(_history(y))
    fa, fb = a.predict(_history(y), _outlook(y.size, 12)), b.predict(_history(y), _outlook(y.size, 12))
    assert fa is not None
    assert fb is not None
    assert np.array_equal(fa.values_mw, fb.values_mw)
    assert np.all(np.diff(fa.values_mw, axis=0) >= 0)


def test_boosting_waits_for_history() -> None:
    model = GradientBoosting()
    model.fit(_history(_ar_series(50)))
    assert model.predict(_history(_ar_series(50)), _outlook(50, 4)) is None


def test_selector_scores_models_and_prefers_the_better_one() -> None:
    y = _ar_series(3 * 96, phi=0.97)
    sel = Selector(models=[Persistence(), Autoregressive(order=2)], refit_every=48, min_scored=24)
    for q in range(96, y.size - 1):
        sel.forecast(q, _history(y[: q + 1]), _outlook(q + 1, 8))
    assert set(sel.scores) == {"persistence", "autoregressive"}
    assert sel.best(["persistence", "autoregressive"]) == min(sel.scores, key=lambda m: sel.scores[m])


def test_selector_refuses_without_any_known_value() -> None:
    sel = Selector(models=[Persistence()])
    with pytest.raises(ValueError, match="no forecast model"):
        sel.forecast(0, _history(np.array([np.nan])), _outlook(1, 4))


def test_local_level_filter_by_hand() -> None:
    y = np.array([np.nan, 2.0, 4.0, np.nan, 0.0])
    assert smoothed_levels(y, 0.5) == pytest.approx([np.nan, 2.0, 3.0, 3.0, 1.5], nan_ok=True)
    assert smoothed_levels(y, 1.0) == pytest.approx([np.nan, 2.0, 4.0, 4.0, 0.0], nan_ok=True)


def test_local_level_smooths_a_noisy_level_and_follows_a_clean_walk() -> None:
    rng = np.random.default_rng(3)
    n = 8 * 96
    # a level that steps every ~6 h, seen through white noise: a small alpha filters the noise
    steps = np.repeat(rng.normal(0.0, 3.0, n // 24 + 1), 24)[:n]
    noisy = LocalLevel()
    noisy.fit(_history(steps + rng.normal(0.0, 1.5, n)))
    assert noisy.alpha < 1.0
    # a random walk seen without noise: the last value is the best estimate of the level (persistence)
    walk = LocalLevel()
    walk.fit(_history(np.cumsum(rng.normal(0.0, 1.0, n))))
    assert walk.alpha == 1.0
    assert walk.phi >= 0.98


def test_local_level_waits_for_history_and_forecasts_ordered_quantiles() -> None:
    model = LocalLevel()
    model.fit(_history(_ar_series(50)))
    assert model.predict(_history(_ar_series(50)), _outlook(50, 4)) is None
    y = _ar_series(6 * 96, phi=0.97)
    model.fit(_history(y))
    f = model.predict(_history(y), _outlook(y.size, 24))
    assert f is not None
    assert f.values_mw.shape == (3, 24)
    assert np.all(np.diff(f.values_mw, axis=0) >= 0)
    assert f.model == "local_level"


@given(st.floats(-50.0, 50.0), st.integers(4 * 96, 6 * 96))
@settings(max_examples=20, deadline=None)
def test_local_level_forecasts_a_constant_series_as_that_constant(value: float, n: int) -> None:
    model = LocalLevel()
    y = np.full(n, value)
    model.fit(_history(y))
    f = model.predict(_history(y), _outlook(n, 12))
    assert f is not None
    assert f.values_mw == pytest.approx(np.full((3, 12), value), abs=1e-9)
