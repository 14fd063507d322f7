"""Live data checks: gaps, stuck values, spikes and incoherence stop activations; good data resumes them."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from goflex.doms.data_validation import LoadValidator, Problem, ValidationRules, clean_series


def _feed(values: list[float], forecast: float = 60.0) -> list[tuple[bool, bool, str]]:
    v = LoadValidator()
    return [(r.usable, r.stopped, r.reason) for r in (v.check(x, forecast) for x in values)]


def test_gap_stops_and_three_good_points_resume() -> None:
    out = _feed([60.0, 61.0, math.nan, 61.5, 61.2, 60.8, 60.9])
    assert out[2] == (False, True, "gap")
    assert [o[1] for o in out] == [False, False, True, True, True, False, False]


def test_stuck_feed_stops_after_four_identical_points() -> None:
    out = _feed([60.0, 61.0, 61.0, 61.0, 61.0, 61.0, 62.0, 62.5, 61.9])
    assert [o[0] for o in out[:6]] == [True, True, True, True, False, False]
    assert out[4][2] == "stuck"
    assert out[-1][1] is False  # resumed once the value moves again


def test_isolated_spike_is_rejected_but_a_confirmed_step_is_accepted() -> None:
    spike = _feed([60.0, 60.5, 75.0, 60.6, 60.4, 60.7, 60.5])
    assert spike[2][:2] == (False, True)
    assert spike[2][2] == "spike"
    assert spike[3][0] is True
    step = _feed([60.0, 60.5, 71.0, 71.2, 71.1, 70.9, 71.0])
    assert step[2][0] is False
    assert step[3][0] is True


def test_incoherent_with_the_forecast() -> None:
    v = LoadValidator()
    verdict = v.check(150.0, 60.0)
    assert verdict.problems == (Problem.INCOHERENT,)
    assert verdict.stopped


def test_clean_series_interpolates_bad_points() -> None:
    load = np.array([60.0, 61.0, np.nan, 63.0, 64.0, 90.0, 65.0, 66.0])
    clean, good = clean_series(load, np.full(load.size, 60.0))
    assert list(good) == [True, True, False, True, True, False, True, True]
    assert clean[2] == 62.0
    assert clean[5] == 64.5


@given(st.lists(st.floats(min_value=40.0, max_value=80.0) | st.just(math.nan), min_size=1, max_size=60))
def test_stopped_exactly_from_a_bad_point_until_enough_good_points(values: list[float]) -> None:
    rules = ValidationRules()
    v = LoadValidator(rules)
    stopped, good_run = False, 0
    for x in values:
        verdict = v.check(x, 60.0)
        if not math.isfinite(x):
            assert not verdict.usable
        if verdict.usable:
            good_run += 1
            stopped = stopped and good_run < rules.resume_points
        else:
            good_run, stopped = 0, True
        assert verdict.stopped == stopped
        assert bool(verdict.reason) == stopped


def test_a_scheduled_step_in_the_forecast_is_not_a_spike() -> None:
    # ripple control switches the night tariff on: +20 MW in the load and in the day-ahead schedule alike
    v = LoadValidator()
    load = [60.0, 60.5, 59.8, 80.2, 80.6, 79.9]
    forecast = [60.0, 60.0, 60.0, 80.0, 80.0, 80.0]
    assert all(v.check(x, f).usable for x, f in zip(load, forecast, strict=True))


def test_the_spike_threshold_follows_the_feeds_noise() -> None:
    rng = np.random.default_rng(5)
    noise_sd = 2.14  # TG8000-like white noise of a 5-minute value (scenario calibration)
    n = 2 * 288
    load = 60.0 + rng.standard_normal(n) * noise_sd
    spikes = np.arange(100, n, 48)
    load[spikes] += np.where(np.arange(spikes.size) % 2 == 0, 15.0, -15.0)
    v = LoadValidator()
    flagged = [i for i, x in enumerate(load) if Problem.SPIKE in v.check(float(x), 60.0).problems]
    assert flagged == list(spikes)  # every spike of 15 MW, and no noise point, although 8 MW is ~2.6 sigma
    # 4 x the robust sd of the 5-minute changes (sqrt(2) x the point noise), never below spike_mw
    assert 4 * noise_sd * math.sqrt(2) * 0.85 < v.spike_threshold_mw < 4 * noise_sd * math.sqrt(2) * 1.15
    quiet = LoadValidator()
    for x in 60.0 + rng.standard_normal(100) * 0.1:
        quiet.check(float(x), 60.0)
    assert quiet.spike_threshold_mw == ValidationRules().spike_mw
