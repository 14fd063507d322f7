"""Baseline, DOMS and oracle on one scenario: what DOMS saves, measured against what was possible (issue 5 s. 3).

Three cases on the same scenario, the same device physics (:mod:`goflex.doms.fleet_sim`: the twin's vectorised
models for every device of ``fleet.json``) and the same random draws (weather, hot water, device choice):

* ``baseline``: relays always closed; its fleet power is the fleet's share of the scenario's load.
* ``doms``: the real :class:`goflex.doms.controller.Controller`, fed the live load point by point: the file's
  load plus what the fleet does differently from the baseline (holes and bad values left as they are), the
  intraday forecast selected by rolling validation, offers computed from the devices' current state.
* ``oracle``: the same controller and optimiser, given the true natural imbalance of the coming quarters (one
  scenario), clean data, and the fleet's true effect on the load (its power minus the baseline's, per group):
  perfect knowledge of the future load and of what the devices do. It plans once per quarter (it knows the
  quarter at its start); the device states and the execution are those of DOMS.

Settlement: the natural imbalance per quarter is the file's load, cleaned afterwards as the next day's official
metering would be (:func:`goflex.doms.data_validation.clean_series`), minus the day-ahead forecast; each case
adds its fleet's difference from the baseline. The penalty follows the price model (:mod:`goflex.doms.prices`).
Comfort violations are counted in device-minutes (5-minute states below the comfort limit) in excess of the
baseline's, device by device: only the discomfort DOMS causes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from goflex.doms.controller import (
    SCENARIO_SPREAD,
    Controller,
    ControllerSettings,
    Decision,
    LivePoint,
    QuarterForecaster,
)
from goflex.doms.data_validation import ValidationRules, clean_series
from goflex.doms.fleet_flex import FleetModel, build_fleet_model
from goflex.doms.fleet_sim import STEP_S, FleetSim
from goflex.doms.forecast.base import F64, Outlook
from goflex.doms.forecast.bounds import (
    LevelNow,
    PerfectForecast,
    PerfectSmooth,
    PerfectThenPersistence,
    quarter_means,
)
from goflex.doms.forecast.selection import Selector, default_models
from goflex.doms.optimiser import DEADBAND_MW, StoreOffer
from goflex.doms.prices import PenaltyRates, PriceModel, TwoPrice, penalty_eur
from goflex.doms.scenario_files import Scenario
from goflex.doms.truth_file import Truth
from goflex.twin.weather import Weather

Progress = Callable[[str, float], None]
"""``progress(case, fraction)``: called as each case advances (fraction in [0, 1])."""
QUARTER_S = 900
NEVER_STOP = ValidationRules(stuck_points=10**9, spike_mw=1e9, incoherent_mw=1e9)
"""The oracle's data checks: its data is clean (settled afterwards), nothing may stop it."""


@dataclass(frozen=True)
class EvaluationOptions:
    """Settings of an evaluation.

    Attributes:
        horizon_quarters: the controller's horizon [quarters] (default 6 h).
        prices: the price model.
        flex_cost_eur_per_mwh: price of the flexibility per MWh shed [EUR/MWh]: a token price by default, since
            the pilot's Direct Control houses had a flat fee and ripple-control receivers are on the DSO's own
            tariff; it keeps the optimiser from blocks that gain nothing.
        deadband_mw: dead band [MW].
        risk_premium_eur_per_mwh: the controller's hurdle on a shed, in the LP only (both DOMS and the oracle:
            the same optimiser); see :class:`goflex.doms.controller.ControllerSettings`.
        within_quarter: DOMS's behaviour within a quarter (``replan``, ``check``); the oracle plans per quarter.
        forecast: DOMS's forecaster: ``selector`` (the real one, by rolling validation) or one of the bounds of
            :mod:`goflex.doms.forecast.bounds` (``perfect``, ``perfect-smooth``, ``level-now``; the last two need
            the scenario's ``truth.csv``), to split the gap to the oracle into its causes.
        perfect_hours: with ``perfect``: hours known perfectly, persistence after them (None: the whole horizon).
        scenario_spread: the controller's :attr:`ControllerSettings.scenario_spread`.
    """

    horizon_quarters: int = 24
    prices: PriceModel = field(default_factory=TwoPrice)
    flex_cost_eur_per_mwh: float = 0.5
    deadband_mw: float = DEADBAND_MW
    risk_premium_eur_per_mwh: float = 2.0
    within_quarter: str = "replan"
    forecast: str = "selector"
    perfect_hours: float | None = None
    scenario_spread: float = SCENARIO_SPREAD

    def __post_init__(self) -> None:
        if self.forecast not in FORECASTS:
            raise ValueError(f"forecast={self.forecast!r}: one of {', '.join(FORECASTS)}")
        if self.perfect_hours is not None and (self.forecast != "perfect" or self.perfect_hours <= 0):
            raise ValueError("--perfect-hours (perfect_hours) needs --forecast perfect and a positive number of hours")


FORECASTS = ("selector", "perfect", "perfect-smooth", "level-now")
"""DOMS's forecasters in the evaluation: the real one and the bounds (:mod:`goflex.doms.forecast.bounds`)."""
NEEDS_TRUTH = ("perfect-smooth", "level-now")


@dataclass(frozen=True)
class CaseResult:
    """One case's figures.

    Attributes:
        imbalance_mw: settled imbalance per quarter [MW].
        penalty_eur: total penalty [EUR].
        flex_cost_eur: price of the energy shed [EUR].
        flex_energy_mwh: energy shed (expected power of the blocked devices x time) [MWh].
        activations: orders that start a group's shedding (its target from zero to more than zero).
        deadband_activations: quarters where relays stayed open after a projection inside the dead band.
        comfort_violation_device_minutes: device-minutes below comfort beyond the baseline's.
        stopped_quarters: quarters in which activations were stopped by the data checks.
        decisions: the controller's records (empty for the baseline).
    """

    imbalance_mw: F64
    penalty_eur: float
    flex_cost_eur: float = 0.0
    flex_energy_mwh: float = 0.0
    activations: int = 0
    deadband_activations: int = 0
    comfort_violation_device_minutes: int = 0
    stopped_quarters: int = 0
    decisions: tuple[Decision, ...] = ()

    @property
    def imbalance_mwh(self) -> float:
        """Total absolute imbalance energy [MWh]."""
        return float(np.abs(self.imbalance_mw).sum() * 0.25)

    @property
    def total_eur(self) -> float:
        """Penalty plus flexibility cost [EUR]."""
        return self.penalty_eur + self.flex_cost_eur


@dataclass(frozen=True)
class Evaluation:
    """The three cases and the derived figures."""

    days: float
    quarters: int
    baseline: CaseResult
    doms: CaseResult
    oracle: CaseResult

    @property
    def net_saving_pct(self) -> float:
        """(baseline penalty - doms penalty - doms flex cost) / baseline penalty [%]."""
        b = self.baseline.penalty_eur
        return 100.0 * (b - self.doms.total_eur) / b if b > 0 else 0.0

    @property
    def oracle_capture_pct(self) -> float | None:
        """(baseline - doms) / (baseline - oracle) on penalty plus flex cost [%]; None when the oracle gains nothing."""
        gain = self.baseline.total_eur - self.oracle.total_eur
        return 100.0 * (self.baseline.total_eur - self.doms.total_eur) / gain if gain > 1e-9 else None

    def to_json(self) -> dict[str, Any]:
        """The document of issue 5 section 3 (exactly its keys)."""
        d, o, b = self.doms, self.oracle, self.baseline
        capture = self.oracle_capture_pct
        return {
            "days": round(self.days, 3),
            "quarters": self.quarters,
            "baseline": {"imbalance_mwh": round(b.imbalance_mwh, 3), "penalty_eur": round(b.penalty_eur, 2)},
            "doms": {
                "imbalance_mwh": round(d.imbalance_mwh, 3),
                "penalty_eur": round(d.penalty_eur, 2),
                "flex_cost_eur": round(d.flex_cost_eur, 2),
                "flex_energy_mwh": round(d.flex_energy_mwh, 3),
                "activations": d.activations,
                "deadband_activations": d.deadband_activations,
                "comfort_violation_device_minutes": d.comfort_violation_device_minutes,
                "stopped_quarters": d.stopped_quarters,
            },
            "oracle": {
                "imbalance_mwh": round(o.imbalance_mwh, 3),
                "penalty_eur": round(o.penalty_eur, 2),
                "flex_cost_eur": round(o.flex_cost_eur, 2),
            },
            "net_saving_pct": round(self.net_saving_pct, 2),
            "oracle_capture_pct": None if capture is None else round(capture, 2),
        }


class _Env:
    """The evaluation's :class:`goflex.doms.controller.Environment`: schedule, weather, prices and offers."""

    def __init__(self, ctx: _Context, sim: FleetSim, base_group_mw: F64 | None) -> None:
        self.ctx, self.sim, self.base_group_mw = ctx, sim, base_group_mw
        self.step_index = 0

    def _index(self, first: int, horizon: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.minimum(np.arange(first, first + horizon), self.ctx.quarters - 1)

    def outlook(self, first_quarter: int, horizon: int) -> Outlook:
        idx = self._index(first_quarter, horizon)
        time_s = self.ctx.start_s + QUARTER_S * np.arange(first_quarter, first_quarter + horizon, dtype=np.float64)
        return Outlook(time_s, self.ctx.dayahead_q[idx], self.ctx.temp_q[idx])

    def rates(self, first_quarter: int, horizon: int) -> PenaltyRates:
        return self.ctx.rates.window(first_quarter, horizon)

    def offers(self, first_quarter: int, horizon: int, committed: dict[str, tuple[F64, F64]]) -> tuple[StoreOffer, ...]:
        del committed  # the devices' state is in the offers
        ctx, sim = self.ctx, self.sim
        idx = self._index(first_quarter, horizon)
        mid_s = ctx.start_s + QUARTER_S * np.arange(first_quarter, first_quarter + horizon, dtype=np.float64) + 450.0
        expected = sim.expected_mw(mid_s, ctx.temp_q[idx])
        if self.base_group_mw is not None:  # the oracle: the true effect of each group
            effect = sim.group_power_mw() - self.base_group_mw[:, self.step_index]
        else:
            effect = None
        price = ctx.options.flex_cost_eur_per_mwh
        offers = []
        for g, st in enumerate(sim.group_states()):
            shed_max = expected[g].copy()
            shed_max[0] = max(st.available_mw, 0.0)
            offers.append(
                StoreOffer(
                    name=ctx.model.group_names[g],
                    shed_max_mw=np.maximum(shed_max, 0.0),
                    hold_h=st.hold_h,
                    recovery_share=st.recovery_share,
                    held_mwh=st.held_mwh,
                    recovering_mwh=st.recovering_mwh,
                    recovering_share=st.recovering_share,
                    rebound_factor=float(ctx.model.rebound_factor[g]),
                    cost_eur_per_mwh=price,
                    blocked_mw=st.blocked_mw,
                    effect_mw=float(effect[g]) if effect is not None else st.effect_mw,
                )
            )
        return tuple(offers)


@dataclass(eq=False)
class _Context:
    scenario: Scenario
    options: EvaluationOptions
    model: FleetModel
    weather: Weather
    start_s: int
    quarters: int
    time_s: F64
    temp_5min: F64
    temp_q: F64
    dayahead_q: F64
    clean_load: F64
    good: np.ndarray[Any, np.dtype[np.bool_]]
    natural_q: F64
    rates: PenaltyRates
    noise_q: F64 | None = None


def _context(scenario: Scenario, options: EvaluationOptions, truth: Truth | None = None) -> _Context:
    grid = scenario.grid
    time_s = grid.time_s.astype(np.float64)
    start_s = int(grid.time_s[0])
    weather = Weather(time_s[0] - 3600.0, time_s[-1] + 2 * 86400.0, seed=scenario.fleet.seed)
    temp_5min = weather.temperature_c(time_s + STEP_S / 2)
    quarters = grid.quarters
    temp_q = temp_5min.reshape(-1, 3).mean(axis=1)
    model = build_fleet_model(scenario.fleet)
    clean, good = clean_series(grid.load_mw, grid.dayahead_mw)
    natural_q = (clean - grid.dayahead_mw).reshape(-1, 3).mean(axis=1)
    q = slice(None, None, 3)
    short = grid.price_short_eur_mwh[q] if grid.price_short_eur_mwh is not None else None
    long_ = grid.price_long_eur_mwh[q] if grid.price_long_eur_mwh is not None else None
    return _Context(
        scenario=scenario,
        options=options,
        model=model,
        weather=weather,
        start_s=start_s,
        quarters=quarters,
        time_s=time_s,
        temp_5min=temp_5min,
        temp_q=temp_q,
        dayahead_q=grid.dayahead_mw[q].copy(),
        clean_load=clean,
        good=good,
        natural_q=natural_q,
        rates=options.prices.rates(grid.spot_eur_mwh[q], short, long_),
        noise_q=None if truth is None else quarter_means(truth.noise_mw),
    )


def _doms_forecaster(ctx: _Context) -> QuarterForecaster:
    """The forecaster of the ``doms`` case (see :attr:`EvaluationOptions.forecast`)."""
    opts = ctx.options
    if opts.forecast == "selector":
        return Selector(models=default_models(ctx.scenario.fleet.seed))
    if opts.forecast == "perfect":
        if opts.perfect_hours is None:
            return PerfectForecast(ctx.natural_q)
        return PerfectThenPersistence(ctx.natural_q, max(1, round(opts.perfect_hours * 4)))
    if ctx.noise_q is None:
        raise ValueError(f"forecast {opts.forecast!r} needs the scenario's truth.csv")
    if opts.forecast == "perfect-smooth":
        return PerfectSmooth(ctx.natural_q, ctx.noise_q)
    return LevelNow(ctx.natural_q, ctx.noise_q)


@dataclass
class _Run:
    fleet_mw: F64
    group_mw: F64
    comfort_steps: np.ndarray[Any, np.dtype[np.int64]]
    decisions: list[Decision]
    shed_energy_mwh: float
    controller: Controller | None


def _simulate(ctx: _Context, case: str, base: _Run | None, progress: Progress | None) -> _Run:
    """Step the fleet over the scenario; with a controller for ``doms`` and ``oracle``."""
    seed = ctx.scenario.fleet.seed
    sim = FleetSim(ctx.model, ctx.weather, float(ctx.start_s), seed)
    n = ctx.time_s.size
    grid = ctx.scenario.grid
    controller, env = None, None
    if case != "baseline" and base is not None:
        perfect = case == "oracle"
        env = _Env(ctx, sim, base.group_mw if perfect else None)
        forecaster = PerfectForecast(ctx.natural_q) if perfect else _doms_forecaster(ctx)
        settings = ControllerSettings(
            horizon_quarters=ctx.options.horizon_quarters,
            deadband_mw=ctx.options.deadband_mw,
            within_quarter="none" if perfect else ctx.options.within_quarter,
            risk_premium_eur_per_mwh=ctx.options.risk_premium_eur_per_mwh,
            scenario_spread=ctx.options.scenario_spread,
            validation=NEVER_STOP if perfect else ValidationRules(),
        )
        controller = Controller(start_s=ctx.start_s, environment=env, forecaster=forecaster, settings=settings)
    fleet_mw = np.zeros(n)
    group_mw = np.zeros((sim.n_groups, n)) if case == "baseline" else np.zeros((0, 0))
    decisions: list[Decision] = []
    every = max(1, n // 200)
    for i in range(n):
        t = float(ctx.time_s[i])
        fleet_mw[i] = sim.step(t)
        if case == "baseline":
            group_mw[:, i] = sim.group_power_mw()
        if controller is not None and env is not None and base is not None:
            env.step_index = i
            delta = fleet_mw[i] - base.fleet_mw[i]
            raw = ctx.clean_load[i] if case == "oracle" else grid.load_mw[i]
            load = raw + delta if (case == "oracle" or ctx.good[i]) else raw
            decision = controller.step(
                LivePoint(int(t), float(load), float(grid.dayahead_mw[i]), float(ctx.temp_5min[i]))
            )
            decisions.append(decision)
            if decision.sets_targets:
                sim.set_targets({o.offer: o.power_mw for o in decision.issued})
        if progress is not None and (i % every == 0 or i == n - 1):
            progress(case, (i + 1) / n)
    return _Run(fleet_mw, group_mw, sim.comfort_steps(), decisions, sim.shed_energy_mwh, controller)


def _settle(ctx: _Context, run: _Run, base: _Run | None) -> CaseResult:
    delta_q = (run.fleet_mw - base.fleet_mw).reshape(-1, 3).mean(axis=1) if base is not None else 0.0
    imbalance = ctx.natural_q + delta_q
    penalty = float(penalty_eur(imbalance * 0.25, ctx.rates).sum())
    if run.controller is None or base is None:
        return CaseResult(imbalance_mw=imbalance, penalty_eur=penalty)
    band = ctx.options.deadband_mw
    deadband = {
        d.quarter + (1 if d.kind == "plan" else 0)
        for d in run.decisions
        if d.acting and math.isfinite(d.projected_mw) and abs(d.projected_mw) <= band
    }
    stopped = {d.quarter for d in run.decisions if d.stopped}
    comfort = int(np.maximum(run.comfort_steps - base.comfort_steps, 0).sum() * STEP_S // 60)
    return CaseResult(
        imbalance_mw=imbalance,
        penalty_eur=penalty,
        flex_cost_eur=run.shed_energy_mwh * ctx.options.flex_cost_eur_per_mwh,
        flex_energy_mwh=run.shed_energy_mwh,
        activations=run.controller.activations,
        deadband_activations=len(deadband),
        comfort_violation_device_minutes=comfort,
        stopped_quarters=len(stopped),
        decisions=tuple(run.decisions),
    )


def evaluate(
    scenario: Scenario,
    options: EvaluationOptions | None = None,
    progress: Progress | None = None,
    truth: Truth | None = None,
) -> Evaluation:
    """Run baseline, DOMS and oracle on ``scenario`` (see the module docstring).

    Args:
        scenario: grid series and fleet.
        options: horizon, prices, flexibility price, dead band and DOMS's forecaster.
        progress: called as each case advances.
        truth: the generator's knowledge of the load (``truth.csv``), for the bounds that need it.

    Raises:
        ValueError: the forecaster needs ``truth`` and none was given, or it does not fit the scenario.
    """
    opts = options or EvaluationOptions()
    if opts.forecast in NEEDS_TRUTH and truth is None:
        raise ValueError(f"forecast {opts.forecast!r} needs the scenario's truth.csv")
    if truth is not None and truth.noise_mw.size != scenario.grid.time_s.size:
        raise ValueError("truth.csv and grid.csv differ in length")
    ctx = _context(scenario, opts, truth)
    base = _simulate(ctx, "baseline", None, progress)
    doms = _simulate(ctx, "doms", base, progress)
    oracle = _simulate(ctx, "oracle", base, progress)
    return Evaluation(
        days=ctx.quarters / 96.0,
        quarters=ctx.quarters,
        baseline=_settle(ctx, base, None),
        doms=_settle(ctx, doms, base),
        oracle=_settle(ctx, oracle, base),
    )
