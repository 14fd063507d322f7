"""DOMS's step-by-step controller: validate -> estimate -> forecast -> optimise -> decide (seed 3.3.2) (pure).

The controller is fed one 5-minute point at a time and never sees the future; where the points come from (a
scenario file, the IoT layer) is the caller's business, and so is how the flexibility is reached: it asks an
:class:`Environment` for the outlook (day-ahead schedule and weather of the coming quarters), the penalty rates
and the offers (one per device group, with its current state: what is blocked, what is still recovering, what
the FOAs measured). Every call returns a :class:`Decision`, a record of what it saw and why it acted.

What DOMS orders is, per device group, the *baseline power to hold blocked* from now on (:class:`ShedOrder`);
the FOAs choose the devices and release them first when comfort requires it (:mod:`goflex.doms.fleet_sim`).

Per point (the interval ``[t, t + 5 min)`` arrives at ``t + 5 min``):

1. :class:`goflex.doms.data_validation.LoadValidator`: a bad point stops all shedding, with the reason; good
   points resume it (seed 3.3.2: "stop automatically when out of tolerances").
2. The natural imbalance point: load minus DOMS's own measured effect (the offers' ``effect_mw``) minus the
   day-ahead forecast, into :class:`goflex.doms.imbalance.QuarterEstimator`.
3. Within a quarter (first two points; seed 3.3.2: act within the quarter once its sign is clear): the running
   quarter is planned again from its live estimate, the rest of the horizon from the last forecast
   (``replan``). Stopped: everything is released.
4. At the quarter's last point: the quarter's estimate joins the history; the forecaster gives quantiles of the
   coming quarters; the optimiser plans the horizon (``plan``); the targets of the next quarter are ordered
   (later quarters are planned again: a rolling horizon).

The dead band holds by construction: the optimiser never sheds in a quarter projected inside it, so the orders
of such a quarter are zero and every relay closes. Releasing is not an activation (comfort may always release,
and recovery is where the withheld heat goes); a shed is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from goflex.doms.data_validation import LoadValidator, ValidationRules
from goflex.doms.forecast.base import F64, History, Outlook, QuantileForecast, median_index, scenario_weights
from goflex.doms.imbalance import POINTS_PER_QUARTER, QuarterEstimator
from goflex.doms.optimiser import (
    DEADBAND_MW,
    Offer,
    OptimiserError,
    Plan,
    PlanProblem,
    StoreOffer,
    as_store,
    solve,
)
from goflex.doms.prices import PenaltyRates

QUARTER_S = 900
STEP_S = 300
HISTORY_QUARTERS = 35 * 96
SCENARIO_SPREAD = 1.5
"""Default :attr:`ControllerSettings.scenario_spread`."""
SHED_MIN_MW = 1e-4
"""Planned shed below this (0.1 kW) is no order."""


@dataclass(frozen=True)
class LivePoint:
    """One 5-minute interval of live data.

    Attributes:
        time_s: start of the interval, Unix [s] (a multiple of 300).
        load_mw: measured load [MW] (NaN = missing).
        dayahead_mw: day-ahead forecast [MW].
        temp_c: outdoor temperature [C].
    """

    time_s: int
    load_mw: float
    dayahead_mw: float
    temp_c: float


class Environment(Protocol):
    """What the controller needs besides the live points."""

    def outlook(self, first_quarter: int, horizon: int) -> Outlook:
        """Day-ahead schedule and weather forecast of quarters ``first_quarter ..`` (``horizon`` of them)."""
        ...

    def rates(self, first_quarter: int, horizon: int) -> PenaltyRates:
        """Penalty rates of the same quarters."""
        ...

    def offers(self, first_quarter: int, horizon: int, committed: dict[str, tuple[F64, F64]]) -> tuple[Offer, ...]:
        """The device groups over the same quarters, with their state now (blocked, held, recovering, effect).

        ``committed`` is always empty: it is kept for environments written for the former block model (the
        offers now carry their own state).
        """
        ...


class QuarterForecaster(Protocol):
    """A forecaster as the controller uses it (:class:`goflex.doms.forecast.Selector` is one)."""

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        """Quantiles of quarters ``quarter + 1 ..`` from the history up to ``quarter``."""
        ...


@dataclass(frozen=True)
class ShedOrder:
    """DOMS's order to one device group: hold ``power_mw`` of baseline power blocked from quarter ``start`` on.

    Attributes:
        offer: the group's (offer's) name.
        start: the quarter the order is for (the running one within a quarter, else the next).
        power_mw: baseline power to hold blocked [MW] (0 = close every relay of the group).
        cost_eur_per_mwh: the offer's price.
        length: quarters the plan keeps shedding from ``start`` on (the next decision renews or changes it; a
            market buyer orders that many quarters).
    """

    offer: str
    start: int
    power_mw: float
    cost_eur_per_mwh: float
    length: int = 1

    @property
    def flex_cost_eur(self) -> float:
        """Price of the shed energy over one quarter [EUR]."""
        return self.power_mw * self.length * 0.25 * self.cost_eur_per_mwh


IssuedBlock = ShedOrder
"""Former name of :class:`ShedOrder` (the blocks of fixed shape are gone)."""


@dataclass(frozen=True)
class Decision:
    """What the controller did at one point, and on what grounds (the operator's log record).

    Attributes:
        time_s: start of the point's interval, Unix [s].
        quarter: the point's quarter.
        kind: ``check`` (within a quarter, no plan), ``replan`` (within a quarter, the running quarter planned
            again from its live estimate) or ``plan`` (at its last point, for the next quarter).
        usable: the point passed the data checks.
        problems: what was wrong with the point.
        stopped: shedding is stopped.
        reason: why it is stopped.
        estimate_mw: natural imbalance estimate of the running quarter [MW].
        projected_mw: projected imbalance of the quarter decided on [MW] (the running one within a quarter, the
            next one for a plan), recovery already due included: what the dead band is judged on.
        model: forecast model used.
        forecast_mw: median forecast of the first coming quarters [MW].
        issued: the orders (with ``sets_targets``: the full set; groups not named hold nothing blocked).
        sets_targets: this decision replaces the targets of every group.
        released: shedding that was running is stopped (all targets zero).
        acting: some relays are ordered open after this decision.
        expected_penalty_eur: expected penalty over the horizon with the plan [EUR].
        flex_cost_eur: price of the ordered shed over one quarter [EUR].
    """

    time_s: int
    quarter: int
    kind: str
    usable: bool
    problems: tuple[str, ...]
    stopped: bool
    reason: str
    estimate_mw: float
    projected_mw: float
    model: str = ""
    forecast_mw: tuple[float, ...] = ()
    issued: tuple[ShedOrder, ...] = ()
    sets_targets: bool = False
    released: bool = False
    acting: bool = False
    expected_penalty_eur: float = 0.0
    flex_cost_eur: float = 0.0

    def record(self) -> dict[str, Any]:
        """A JSON-ready record (for logs and the API)."""
        return {
            "time_s": self.time_s,
            "quarter": self.quarter,
            "kind": self.kind,
            "usable": self.usable,
            "problems": list(self.problems),
            "stopped": self.stopped,
            "reason": self.reason,
            "estimate_mw": _finite(self.estimate_mw),
            "projected_mw": _finite(self.projected_mw),
            "model": self.model,
            "forecast_mw": [round(v, 3) for v in self.forecast_mw],
            "issued": [{"offer": b.offer, "start": b.start, "power_mw": round(b.power_mw, 4)} for b in self.issued],
            "sets_targets": self.sets_targets,
            "released": self.released,
            "acting": self.acting,
            "expected_penalty_eur": round(self.expected_penalty_eur, 2),
            "flex_cost_eur": round(self.flex_cost_eur, 2),
        }


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


@dataclass(frozen=True)
class ControllerSettings:
    """Controller settings.

    Attributes:
        horizon_quarters: optimisation horizon [quarters] (several hours to a day).
        deadband_mw: dead band half-width [MW] (seed 3.3.2: 1 MW).
        validation: tolerances of the data checks.
        within_quarter: what happens at a quarter's first two points (seed 3.3.2: act within the quarter once
            its sign is clear): ``replan`` plans the running quarter again from its live estimate, moving the
            targets only with its sign (up while it is short, down while it is long: no shed-release churn);
            ``check`` only releases everything when the projection falls inside the dead band; ``none`` does
            nothing (the oracle, which knows every quarter at its start).
        risk_premium_eur_per_mwh: added to the offers' price in the LP only [EUR/MWh]: a shed must promise at
            least this much more than it costs (the forecast cannot see when the error changes sign, and a shed
            recovered in a quarter of the same sign earns nothing but costs its price).
        scenario_spread: the forecast's quantiles are moved away from the median by this factor before the LP
            weighs them as scenarios (1 = as forecast). The LP plans open-loop, as if every release were fixed
            now, but DOMS re-plans every 5 minutes and releases as soon as it sees the sign turn: a deficit held
            in a short quarter is worth more than the open-loop expectation says. Wider scenarios stand in for
            that option value (docs/doms.md, "Where the gap to the oracle comes from": measured per factor).
    """

    horizon_quarters: int = 24
    deadband_mw: float = DEADBAND_MW
    validation: ValidationRules = field(default_factory=ValidationRules)
    within_quarter: str = "replan"
    risk_premium_eur_per_mwh: float = 2.0
    scenario_spread: float = SCENARIO_SPREAD

    def __post_init__(self) -> None:
        if self.within_quarter not in ("replan", "check", "none"):
            raise ValueError("within_quarter must be replan, check or none")
        if self.risk_premium_eur_per_mwh < 0:
            raise ValueError("risk_premium_eur_per_mwh must be >= 0")
        if not self.scenario_spread > 0:
            raise ValueError("scenario_spread must be > 0")


@dataclass
class _History:
    time_s: list[float] = field(default_factory=list)
    imbalance_mw: list[float] = field(default_factory=list)
    dayahead_mw: list[float] = field(default_factory=list)
    temp_c: list[float] = field(default_factory=list)

    def add(self, time_s: float, imbalance_mw: float, dayahead_mw: float, temp_c: float) -> None:
        for values, v in (
            (self.time_s, time_s),
            (self.imbalance_mw, imbalance_mw),
            (self.dayahead_mw, dayahead_mw),
            (self.temp_c, temp_c),
        ):
            values.append(v)
            if len(values) > HISTORY_QUARTERS:
                del values[0]

    def frozen(self) -> History:
        return History(
            np.asarray(self.time_s),
            np.asarray(self.imbalance_mw),
            np.asarray(self.dayahead_mw),
            np.asarray(self.temp_c),
        )


class Controller:
    """The DOMS controller (see the module docstring).

    Args:
        start_s: start of quarter 0, Unix [s] (a quarter-hour boundary).
        environment: outlook, prices and offers.
        forecaster: the intraday forecast.
        settings: horizon, dead band and data tolerances.
    """

    def __init__(
        self,
        *,
        start_s: int,
        environment: Environment,
        forecaster: QuarterForecaster,
        settings: ControllerSettings | None = None,
    ) -> None:
        if start_s % QUARTER_S:
            raise ValueError("start_s must be on a quarter-hour boundary")
        self.start_s = start_s
        self.env = environment
        self.forecaster = forecaster
        self.settings = settings or ControllerSettings()
        self.validator = LoadValidator(self.settings.validation)
        self.estimator = QuarterEstimator()
        self.history = _History()
        self.targets: dict[str, float] = {}
        self.orders: list[ShedOrder] = []
        self.activations = 0
        self._forecast: QuantileForecast | None = None
        self._forecast_origin = -1
        self._quarter_temp: list[float] = []
        self._quarter_effect: list[float] = []
        self._dayahead_mw = math.nan

    def blocking(self, quarter: int | None = None) -> bool:
        """Whether some group is ordered to hold relays open now (``quarter`` kept for compatibility)."""
        del quarter
        return any(v > 0 for v in self.targets.values())

    # -- the cycle -----------------------------------------------------------------------------------------------
    def step(self, point: LivePoint) -> Decision:
        """Process the next 5-minute point (see the module docstring)."""
        if point.time_s % STEP_S:
            raise ValueError("points are 5-minute intervals")
        quarter = (point.time_s - self.start_s) // QUARTER_S
        slot = (point.time_s - self.start_s) % QUARTER_S // STEP_S
        last = slot == POINTS_PER_QUARTER - 1
        horizon = self.settings.horizon_quarters
        offers = tuple(as_store(o) for o in self.env.offers(quarter + 1 if last else quarter, horizon, {}))
        # measured by the FOAs when they report it, else what was ordered (the shed, without its recovery)
        effect = sum(o.effect_mw if o.effect_mw is not None else -self.targets.get(o.name, 0.0) for o in offers)
        # the checks see the load without DOMS's own effect: its releases must not read as spikes
        verdict = self.validator.check(point.load_mw - effect, point.dayahead_mw)
        natural = point.load_mw - effect - point.dayahead_mw if verdict.usable else math.nan
        self.estimator.add(quarter, natural)
        if slot == 0:
            self._quarter_temp, self._quarter_effect = [], []
        self._quarter_temp.append(point.temp_c)
        self._quarter_effect.append(effect)
        self._dayahead_mw = point.dayahead_mw
        estimate = self.estimator.estimate(self._prior(quarter))
        base = Decision(
            point.time_s,
            quarter,
            "check",
            verdict.usable,
            tuple(verdict.problems),
            verdict.stopped,
            verdict.reason,
            estimate.imbalance_mw,
            estimate.imbalance_mw,
        )
        if not last:
            if verdict.stopped:
                return self._release_all(base)
            mode = self.settings.within_quarter
            if mode == "none":
                return replace(base, acting=self.blocking())
            if mode == "check" or self._forecast is None:
                projected = base.estimate_mw + _committed_now(offers)
                if abs(projected) <= self.settings.deadband_mw:
                    return replace(self._release_all(base), projected_mw=projected)
                return replace(base, projected_mw=projected, acting=self.blocking())
            return self._replan(base, quarter, slot, offers)
        known = estimate.imbalance_mw if estimate.points_seen else math.nan
        self.history.add(
            float(self.start_s + quarter * QUARTER_S), known, self._dayahead_mw, float(np.mean(self._quarter_temp))
        )
        return self._plan(base, quarter, offers)

    def _prior(self, quarter: int) -> float:
        """The last forecast of ``quarter`` (0 without one): the running quarter's estimate before any point."""
        f = self._forecast
        if f is None or not 0 <= quarter - self._forecast_origin - 1 < f.values_mw.shape[1]:
            return 0.0
        return float(f.median_mw[quarter - self._forecast_origin - 1])

    def _release_all(self, base: Decision, kind: str = "check") -> Decision:
        released = self.blocking()
        self.targets = {}
        return replace(base, kind=kind, issued=(), sets_targets=True, released=released, acting=False)

    def _replan(self, base: Decision, quarter: int, slot: int, offers: tuple[StoreOffer, ...]) -> Decision:
        """The running quarter again, from its live estimate (``slot + 1`` of its 3 points known)."""
        assert self._forecast is not None
        horizon = self.settings.horizon_quarters
        elapsed = (slot + 1) / POINTS_PER_QUARTER
        # the quarter's mean: natural estimate plus what DOMS did in its elapsed part; the rest is planned
        first = base.estimate_mw + elapsed * float(np.mean(self._quarter_effect))
        lead = quarter - self._forecast_origin - 1
        values = self._forecast.values_mw
        idx = np.minimum(np.arange(lead, lead + horizon), values.shape[1] - 1)
        scenarios = self._scenarios(values[:, idx], self._forecast.levels)
        scenarios[:, 0] = first
        problem = PlanProblem(
            imbalance_mw=scenarios,
            weights=scenario_weights(self._forecast.levels),
            rates=self.env.rates(quarter, horizon),
            offers=offers,
            deadband_mw=self.settings.deadband_mw,
            first_fraction=1.0 - elapsed,
        )
        return self._decide(replace(base, kind="replan"), quarter, problem, self._forecast, monotone=True)

    def _plan(self, base: Decision, quarter: int, offers: tuple[StoreOffer, ...]) -> Decision:
        nxt = quarter + 1
        horizon = self.settings.horizon_quarters
        if base.stopped:
            self._forecast = None
            return self._release_all(base, "plan")
        outlook = self.env.outlook(nxt, horizon)
        try:
            forecast = self.forecaster.forecast(quarter, self.history.frozen(), outlook)
        except ValueError:
            self._forecast = None
            return self._release_all(base, "plan")
        self._forecast, self._forecast_origin = forecast, quarter
        problem = PlanProblem(
            imbalance_mw=self._scenarios(forecast.values_mw, forecast.levels),
            weights=scenario_weights(forecast.levels),
            rates=self.env.rates(nxt, horizon),
            offers=offers,
            deadband_mw=self.settings.deadband_mw,
        )
        return self._decide(replace(base, kind="plan"), nxt, problem, forecast)

    def _scenarios(self, values: F64, levels: tuple[float, ...]) -> F64:
        """The LP's scenarios: the quantiles, moved from the median by ``scenario_spread``."""
        factor = self.settings.scenario_spread
        median = values[median_index(levels)]
        return np.asarray(median[None, :] + factor * (values - median[None, :]), dtype=np.float64)

    def _decide(
        self, base: Decision, quarter: int, problem: PlanProblem, forecast: QuantileForecast, *, monotone: bool = False
    ) -> Decision:
        """Solve and order the first quarter's shed; a failed solve releases everything (never act blind).

        With ``monotone`` (within a quarter), a group's target only rises while the running quarter is projected
        short and only falls while it is projected long; inside the dead band everything is released anyway.
        """
        offers = tuple(as_store(o) for o in problem.offers)
        premium = self.settings.risk_premium_eur_per_mwh
        priced = tuple(replace(o, cost_eur_per_mwh=o.cost_eur_per_mwh + premium) for o in offers)
        try:
            plan: Plan = solve(replace(problem, offers=priced))
        except OptimiserError:
            return replace(self._release_all(base, base.kind), model=forecast.model)
        if monotone and plan.allowed[0]:
            old = np.array([self.targets.get(o.name, 0.0) for o in offers])
            first = plan.shed_mw[:, 0]
            shed = np.maximum(old, first) if plan.projected_mw[0] > 0 else np.minimum(old, first)
            shed = np.minimum(shed, [o.shed_max_mw[0] for o in offers])
            plan = replace(plan, shed_mw=np.concatenate([shed[:, None], plan.shed_mw[:, 1:]], axis=1))
        orders = tuple(
            ShedOrder(o.name, quarter, float(plan.shed_mw[i, 0]), o.cost_eur_per_mwh, _run_length(plan.shed_mw[i]))
            for i, o in enumerate(offers)
            if plan.shed_mw[i, 0] > SHED_MIN_MW
        )
        new = {o.offer: o.power_mw for o in orders}
        self.activations += sum(1 for name in new if self.targets.get(name, 0.0) <= 0.0)
        released = self.blocking() and not new
        self.targets = new
        self.orders.extend(orders)
        return replace(
            base,
            projected_mw=float(plan.projected_mw[0]),
            model=forecast.model,
            forecast_mw=tuple(float(v) for v in problem.imbalance_mw[median_index(forecast.levels), :8]),
            issued=orders,
            sets_targets=True,
            released=released,
            acting=bool(new),
            expected_penalty_eur=plan.expected_penalty_eur,
            flex_cost_eur=sum(o.flex_cost_eur for o in orders),
        )


def _run_length(shed_mw: F64) -> int:
    """Quarters in a row, from the first, with a planned shed."""
    stops = np.flatnonzero(shed_mw <= SHED_MIN_MW)
    return int(stops[0]) if stops.size else int(shed_mw.size)


def _committed_now(offers: tuple[StoreOffer, ...]) -> float:
    """Recovery already due in the coming quarter from the deficit released before [MW]."""
    return sum(o.k_now * o.recovering_mwh / 0.25 for o in offers)
