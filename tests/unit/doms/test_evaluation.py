"""The three-case evaluation on small hand-made scenarios (issue 5 sections 3 and 7)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from goflex.doms.evaluation import EvaluationOptions, evaluate

from .doms_synthetic import scenario, small_fleet, square_wave

ISSUE_KEYS = {
    "days": None,
    "quarters": None,
    "baseline": {"imbalance_mwh", "penalty_eur"},
    "doms": {
        "imbalance_mwh",
        "penalty_eur",
        "flex_cost_eur",
        "flex_energy_mwh",
        "activations",
        "deadband_activations",
        "comfort_violation_device_minutes",
        "stopped_quarters",
    },
    "oracle": {"imbalance_mwh", "penalty_eur", "flex_cost_eur"},
    "net_saving_pct": None,
    "oracle_capture_pct": None,
}


@pytest.fixture(scope="module")
def square() -> dict:  # type: ignore[type-arg]
    """Two days of a 6-hour square wave, +/-3 MW (predictable: no forecast error but at the switches)."""
    result = evaluate(
        scenario(square_wave(2.0, amplitude_mw=3.0, period_h=6.0)), EvaluationOptions(horizon_quarters=16)
    )
    return result.to_json()


def test_exactly_the_issue_keys(square: dict) -> None:  # type: ignore[type-arg]
    assert set(square) == set(ISSUE_KEYS)
    for key, inner in ISSUE_KEYS.items():
        if inner is not None:
            assert set(square[key]) == inner
    assert square["quarters"] == 192
    assert square["days"] == 2.0
    json.dumps(square)


def test_comfort_and_dead_band_hold(square: dict) -> None:  # type: ignore[type-arg]
    assert square["doms"]["comfort_violation_device_minutes"] == 0
    assert square["doms"]["deadband_activations"] == 0
    assert square["doms"]["stopped_quarters"] == 0


def test_oracle_beats_doms_and_doms_never_loses_more_than_its_flex_cost(square: dict) -> None:  # type: ignore[type-arg]
    base = square["baseline"]["penalty_eur"]
    doms = square["doms"]["penalty_eur"] + square["doms"]["flex_cost_eur"]
    oracle = square["oracle"]["penalty_eur"] + square["oracle"]["flex_cost_eur"]
    assert square["oracle"]["penalty_eur"] < base, "the oracle shifts load from the short to the long half"
    assert oracle <= doms + 0.01 * base
    assert square["doms"]["penalty_eur"] <= base + square["doms"]["flex_cost_eur"] + 0.01 * base


def test_same_seed_same_result() -> None:
    wave = square_wave(1.0, amplitude_mw=2.5, period_h=4.0)
    wave[100:103] = np.nan  # a hole: the controller stops, then resumes
    fleet = small_fleet(seed=5, scale=1)
    options = EvaluationOptions(horizon_quarters=8)
    first = evaluate(scenario(wave, fleet), options).to_json()
    second = evaluate(scenario(wave, fleet), options).to_json()
    assert first == second
    assert first["doms"]["stopped_quarters"] >= 1
