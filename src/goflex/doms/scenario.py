"""Generate an ESR-like DOMS scenario: load, day-ahead forecast, spot prices and fleet (pure; issue 5 section 4).

The chain, deterministic per seed:

1. Sion's weather (:class:`goflex.twin.weather.Weather`) and PV per kWp (:mod:`goflex.twin.solar`);
2. the load model (:mod:`goflex.doms.load_model`) fed with the actual weather, plus the part nobody can forecast
   (:func:`goflex.doms.forecast_error.residual_parts`): the live load every 5 minutes;
3. the same load model fed with the day-ahead weather forecast (:func:`weather_forecast_errors`), averaged per
   quarter hour: the day-ahead forecast, constant within each quarter;
4. defects injected into the live load (holes, stuck values, spikes: DOMS must detect them);
5. hourly spot prices (:mod:`goflex.doms.spot_prices`); imbalance prices are left to the two-price rule;
6. the fleet (:mod:`goflex.doms.fleet_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.doms.fleet_groups import scenario_fleet
from goflex.doms.forecast_error import (
    CALIBRATED,
    DefectRates,
    Defects,
    ResidualParameters,
    inject_defects,
    residual_parts,
    weather_forecast_errors,
)
from goflex.doms.load_model import ESR, BalanceGroup, calendar, structural_load_mw, utc_midnight_s
from goflex.doms.scenario_files import STEP_S, GridSeries, Scenario, format_time
from goflex.doms.spot_prices import spot_eur_mwh
from goflex.twin.solar import specific_power_w_per_kwp
from goflex.twin.weather import Weather

STEPS_PER_DAY: Final = 288
PV_GRID_S: Final = 900  # PV is computed per quarter hour and interpolated (pvlib is the slow part)


@dataclass(frozen=True)
class ScenarioRequest:
    """What to generate.

    Attributes:
        days: number of days (>= 1).
        seed: random seed (>= 0).
        scale: ``pilot`` or ``territory``.
        start: first day (00:00 UTC).
        all_receivers: territory only: every device of the 11,687 ripple-control houses.
        group: sizes of the balance group's load.
        residual: the unforecastable part of the load.
        defects: rates of the live feed's defects.
    """

    days: int
    seed: int
    scale: str = "territory"
    start: date = date(2016, 1, 1)
    all_receivers: bool = False
    group: BalanceGroup = ESR
    residual: ResidualParameters = CALIBRATED
    defects: DefectRates = field(default_factory=DefectRates)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days={self.days}: need at least one day")
        if self.seed < 0:
            raise ValueError(f"seed={self.seed}: must be >= 0")
        if self.scale not in ("pilot", "territory"):
            raise ValueError(f"scale={self.scale!r}: pilot or territory")


@dataclass(frozen=True, eq=False)
class GeneratedScenario:
    """A scenario and what only the generator knows.

    Attributes:
        scenario: what goes into the files.
        true_load_mw: the live load before the defects [MW], every 5 minutes.
        noise_mw: the part of it no intraday forecast can know even in principle (short drift and white noise of
            each 5-minute value) [MW]: what the evaluation's bounds leave out (``truth.csv``).
        temp_c: the outdoor temperature [C], every 5 minutes.
        defects: where the live load was damaged.
    """

    scenario: Scenario
    true_load_mw: NDArray[np.float64]
    noise_mw: NDArray[np.float64]
    temp_c: NDArray[np.float64]
    defects: Defects


def _pv_w_per_kwp(weather: Weather, time_s: NDArray[np.int64]) -> NDArray[np.float64]:
    grid = np.arange(int(time_s[0]), int(time_s[-1]) + PV_GRID_S + 1, PV_GRID_S, dtype=np.float64)
    pv = specific_power_w_per_kwp(weather, grid, azimuth_deg=180.0, tilt_deg=30.0)
    return np.asarray(np.interp(time_s.astype(np.float64), grid, pv), dtype=np.float64)


def generate(request: ScenarioRequest) -> GeneratedScenario:
    """Generate the scenario of ``request`` (same request, same arrays)."""
    n = request.days * STEPS_PER_DAY
    t0 = utc_midnight_s(request.start)
    time_s = t0 + STEP_S * np.arange(n, dtype=np.int64)
    weather = Weather(float(t0), float(t0 + n * STEP_S + PV_GRID_S), seed=request.seed)
    temp_c = weather.temperature_c(time_s.astype(np.float64))
    pv = _pv_w_per_kwp(weather, time_s)
    cal = calendar(time_s)
    rng = np.random.default_rng([request.seed, 0xD035])
    wx = weather_forecast_errors(n, rng)
    actual = structural_load_mw(time_s, temp_c=temp_c, pv_w_per_kwp=pv, group=request.group, cal=cal)
    forecast_5min = structural_load_mw(
        time_s, temp_c=temp_c + wx.temp_k, pv_w_per_kwp=pv * np.exp(wx.pv_log), group=request.group, cal=cal
    )
    dayahead = np.repeat(np.round(forecast_5min.reshape(-1, 3).mean(axis=1), 2), 3)
    parts = residual_parts(n, rng, request.residual)
    true_load = actual + parts.total_mw
    defects = inject_defects(true_load, rng, request.defects)
    spot = spot_eur_mwh(time_s, cal, rng)
    grid = GridSeries(
        time_s=time_s,
        load_mw=np.round(defects.load_mw, 4),
        dayahead_mw=dayahead,
        spot_eur_mwh=spot,
        load_gaps=int(defects.missing.size),
    )
    fleet = scenario_fleet(request.scale, seed=request.seed, all_receivers=request.all_receivers)
    return GeneratedScenario(Scenario(grid=grid, fleet=fleet), true_load, parts.noise_mw, temp_c, defects)


def defects_document(generated: GeneratedScenario) -> dict[str, list[list[str]]]:
    """Where the live load was damaged, as ``[first, last]`` UTC time spans per kind (for ``defects.json``)."""
    time_s = generated.scenario.grid.time_s

    def spans(rows: NDArray[np.int64]) -> list[list[str]]:
        if rows.size == 0:
            return []
        breaks = np.flatnonzero(np.diff(rows) != 1)
        firsts = np.concatenate(([rows[0]], rows[breaks + 1]))
        lasts = np.concatenate((rows[breaks], [rows[-1]]))
        return [[format_time(int(time_s[a])), format_time(int(time_s[b]))] for a, b in zip(firsts, lasts, strict=True)]

    d = generated.defects
    return {"missing": spans(d.missing), "stuck": spans(d.stuck), "spikes": spans(d.spikes)}
