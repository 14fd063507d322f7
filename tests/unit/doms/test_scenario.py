"""The scenario generator: determinism, shape of the load, the fleet, and the seed's 2016 error statistics."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from goflex.doms.analysis import SEED_2016, error_statistics, quarter_errors
from goflex.doms.fleet_groups import scenario_fleet
from goflex.doms.forecast_error import DefectRates
from goflex.doms.scenario import ScenarioRequest, defects_document, generate
from goflex.doms.scenario_files import WaterHeaterGroup, format_grid_csv, parse_grid_csv


def test_same_seed_same_scenario_other_seed_other_scenario() -> None:
    a = generate(ScenarioRequest(days=3, seed=7, scale="pilot"))
    b = generate(ScenarioRequest(days=3, seed=7, scale="pilot"))
    c = generate(ScenarioRequest(days=3, seed=8, scale="pilot"))
    assert format_grid_csv(a.scenario.grid) == format_grid_csv(b.scenario.grid)
    assert a.scenario.fleet == b.scenario.fleet
    assert format_grid_csv(a.scenario.grid) != format_grid_csv(c.scenario.grid)


def test_a_generated_grid_is_a_valid_file_with_quarter_constant_forecast() -> None:
    generated = generate(ScenarioRequest(days=2, seed=3, start=date(2016, 3, 27)))  # spring DST change
    grid = parse_grid_csv(format_grid_csv(generated.scenario.grid))
    assert grid.time_s.size == 2 * 288
    assert grid.time_s[0] == 1459036800  # 2016-03-27T00:00:00Z
    assert np.all(grid.dayahead_mw.reshape(-1, 3) == grid.dayahead_mw.reshape(-1, 3)[:, :1])
    assert not grid.has_imbalance_prices


def test_load_has_daily_weekly_and_seasonal_shape() -> None:
    generated = generate(ScenarioRequest(days=364, seed=2))
    load = generated.true_load_mw.reshape(52, 7, 288)  # 2016-01-01 was a Friday
    assert 40.0 < load.mean() < 70.0
    assert 80.0 < np.percentile(load, 99.5) < 125.0  # an ESR-like winter peak
    winter, summer = load[:8].mean(), load[26:34].mean()
    assert winter > summer + 15.0  # electric heating
    days = load.mean(axis=(0, 2))  # Friday .. Thursday
    assert days[2] < days[0] - 3.0
    assert days[2] < days[5] - 3.0
    hours = generated.true_load_mw.reshape(364, 24, 12).mean(axis=(0, 2))
    assert hours[3] < hours[10] - 10.0  # night (04 h local) below late morning


def test_defects_are_present_and_listed() -> None:
    generated = generate(ScenarioRequest(days=60, seed=4, defects=DefectRates(stuck_per_day=0.2, spikes_per_day=0.2)))
    grid = generated.scenario.grid
    d = generated.defects
    assert d.missing.size > 0
    assert d.stuck.size > 0
    assert d.spikes.size > 0
    assert np.all(np.isnan(grid.load_mw[d.missing]))
    assert np.isnan(grid.load_mw).sum() == d.missing.size == grid.load_gaps
    assert np.max(np.abs(grid.load_mw[d.spikes] - generated.true_load_mw[d.spikes])) >= 15.0
    document = defects_document(generated)
    assert sum(len(v) for v in document.values()) > 0
    assert document["missing"][0][0].endswith("Z")


def test_fleets() -> None:
    pilot = scenario_fleet("pilot", seed=1)
    assert pilot.houses == 200
    territory = scenario_fleet("territory", seed=1)
    assert (territory.count("heat_pump"), territory.count("water_heater"), territory.count("direct_heating")) == (
        1287,
        759,
        1076,
    )
    boilers_kw = sum(g.count * g.power_kw for g in territory.groups if isinstance(g, WaterHeaterGroup))
    assert boilers_kw == pytest.approx(3890, rel=0.05)  # seed 2.2.1: 3.89 MW
    everything = scenario_fleet("territory", seed=1, all_receivers=True)
    assert everything.houses == 11_687
    assert everything.count("water_heater") > 759
    with pytest.raises(ValueError, match="territory"):
        scenario_fleet("pilot", seed=1, all_receivers=True)


def test_a_generated_year_reproduces_the_seed_2016_statistics() -> None:
    stats = error_statistics(quarter_errors(generate(ScenarioRequest(days=366, seed=11)).scenario.grid)).to_json()
    for key in (
        "share_quarters_within_5mw",
        "share_runs_within_2mwh",
        "share_runs_under_60min",
        "energy_share_runs_under_2mwh",
        "energy_share_runs_under_5mwh",
    ):
        assert stats[key] == pytest.approx(SEED_2016[key], abs=0.04), key
    assert stats["runs"] == pytest.approx(SEED_2016["runs"], rel=0.35)


def test_residual_parts_are_the_residual_and_the_noise_is_unforecastable() -> None:
    from goflex.doms.forecast_error import residual_mw, residual_parts  # noqa: PLC0415 - this test's subject

    n = 288 * 14
    parts = residual_parts(n, np.random.default_rng(7))
    np.testing.assert_array_equal(parts.total_mw, residual_mw(n, np.random.default_rng(7)))
    noise = parts.noise_mw
    # short drift (10 min) and white noise: no correlation left between quarter means one quarter apart
    q = noise.reshape(-1, 3).mean(axis=1)
    assert abs(np.corrcoef(q[1:], q[:-1])[0, 1]) < 0.1
    # the smooth rest is strongly persistent over a quarter
    smooth = (parts.blocks + parts.slow).reshape(-1, 3).mean(axis=1)
    assert np.corrcoef(smooth[1:], smooth[:-1])[0, 1] > 0.9


def test_the_generator_reports_the_noise_inside_the_true_load() -> None:
    generated = generate(ScenarioRequest(days=2, seed=4, scale="pilot"))
    assert generated.noise_mw.shape == generated.true_load_mw.shape
    assert 1.5 < float(np.std(generated.noise_mw)) < 3.5  # white 2.14 MW and fast drift 0.66 MW
