"""Sion's synthetic weather: seasonal means, persistence, clear-sky index range, determinism."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from goflex.twin.weather import Weather, ar1_filter

START_S = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
END_S = datetime(2030, 1, 1, tzinfo=UTC).timestamp()


def _monthly_means() -> tuple[pd.Series, float]:
    weather = Weather(START_S, END_S, seed=7)
    t = np.arange(START_S, END_S, 3600.0)
    temp = weather.temperature_c(t)
    months = pd.to_datetime(t, unit="s").month
    return pd.Series(temp).groupby(months).mean(), float(temp.mean())


def test_seasonal_means_are_those_of_sion() -> None:
    monthly, annual = _monthly_means()
    assert abs(annual - 10.0) < 0.6
    assert abs(monthly[1] - 0.0) < 1.5
    assert abs(monthly[7] - 20.0) < 1.5


def test_anomaly_persists_for_days_and_days_are_warmer_than_nights() -> None:
    weather = Weather(START_S, START_S + 365 * 86400.0, seed=3)
    hourly = weather.temperature_c(np.arange(START_S, START_S + 364 * 86400.0, 3600.0))
    daily = hourly.reshape(364, 24).mean(axis=1)
    anomaly = daily - np.convolve(daily, np.ones(31) / 31, "same")
    anomaly = anomaly[20:-20]
    lag1 = np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1]
    assert lag1 > 0.5  # weather lasts for days (synoptic correlation time 3 d)
    assert 1.5 < np.std(anomaly) < 4.5
    t = START_S + 180 * 86400.0 + np.arange(0, 30 * 86400.0, 3600.0)
    hour = ((t / 3600.0) + 7.36 / 15.0) % 24
    temp = weather.temperature_c(t)
    assert temp[(hour > 13) & (hour < 17)].mean() > temp[(hour > 2) & (hour < 6)].mean() + 5.0


def test_clear_sky_index_in_range_and_deterministic() -> None:
    a = Weather(START_S, START_S + 40 * 86400.0, seed=11)
    b = Weather(START_S, START_S + 40 * 86400.0, seed=11)
    t = np.linspace(START_S, START_S + 40 * 86400.0, 5000)
    k = a.clear_sky_index(t)
    assert k.min() >= 0.08
    assert k.max() <= 1.0
    assert np.array_equal(k, b.clear_sky_index(t))
    assert np.array_equal(a.temperature_c(t), b.temperature_c(t))
    assert not np.array_equal(k, Weather(START_S, START_S + 40 * 86400.0, seed=12).clear_sky_index(t))


def test_ar1_filter_matches_the_recursion() -> None:
    e = np.random.default_rng(1).standard_normal((2, 700))
    for a in (0.5, 0.97, 0.9999):
        x = np.zeros_like(e)
        x[:, 0] = e[:, 0]
        for k in range(1, e.shape[1]):
            x[:, k] = a * x[:, k - 1] + e[:, k]
        assert np.allclose(ar1_filter(e, a), x, rtol=1e-9, atol=1e-9)
