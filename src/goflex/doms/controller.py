"""DOMS's step-by-step controller: validate -> estimate -> forecast -> optimise -> decide (seed 3.3.2) (pure).

The controller is fed one 5-minute point at a time and never sees the future; where the points come from (a
scenario file, the IoT layer) is the caller's business, and so is how the flexibility is reached: it asks an
:class:`Environment` for the outlook (day-ahead schedule and weather of the coming quarters), the penalty rates
and the offers. Every call returns a :class:`Decision`, a record of what it saw and why it acted, for the
operator's log.

Per point (the interval ``[t, t + 5 min)`` arrives at ``t + 5 min``):

1. :class:`goflex.doms.data_validation.LoadValidator`: a bad point stops all activations, with the reason;
   good points resume them (seed 3.3.2: "stop automatically when out of tolerances").
2. The natural imbalance point: load minus DOMS's own expected effect (its blocks' shed and rebound) minus the
   day-ahead forecast, into :class:`goflex.doms.imbalance.QuarterEstimator`.
3. Within a quarter (first two points): when stopped, or when the running quarter's projected imbalance is
   inside the +/-1 MW dead band, the running blocks are cut short (``release``).
4. At the quarter's last point: the quarter's estimate joins the history; the forecaster gives quantiles of the
   coming quarters; the optimiser plans the horizon; the blocks that start in the next quarter are issued
   (later ones are planned again next quarter: a rolling horizon).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from goflex.doms.data_validation import LoadValidator, ValidationRules
from goflex.doms.forecast.base import F64, History, Outlook, QuantileForecast, scenario_weights
from goflex.doms.imbalance import POINTS_PER_QUARTER, QuarterEstimator
from goflex.doms.optimiser import DEADBAND_MW, OptimiserError, PlanProblem, ShedOffer, block_shape, solve
from goflex.doms.prices import PenaltyRates

QUARTER_S = 900
STEP_S = 300
HISTORY_QUARTERS = 35 * 96


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

    def offers(self, first_quarter: int, horizon: int, committed: dict[str, tuple[F64, F64]]) -> tuple[ShedOffer, ...]:
        """The flexibility over the same quarters, given the blocks running (``name -> (delta, occupied)``)."""
        ...


class QuarterForecaster(Protocol):
    """A forecaster as the controller uses it (:class:`goflex.doms.forecast.Selector` is one)."""

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        """Quantiles of quarters ``quarter + 1 ..`` from the history up to ``quarter``."""
        ...


@dataclass(frozen=True)
class IssuedBlock:
    """A block DOMS runs (absolute quarters).

    Attributes:
        offer: the offer's name.
        start: first blocked quarter.
        length: blocked quarters.
        power_mw: baseline power blocked [MW].
        duty: the offer's duty (sets the rebound's power).
        rebound_factor: the offer's rebound energy per shed energy.
        cost_eur_per_mwh: the offer's price.
    """

    offer: str
    start: int
    length: int
    power_mw: float
    duty: float
    rebound_factor: float
    cost_eur_per_mwh: float

    @property
    def shape(self) -> F64:
        """Delta per MW blocked from ``start`` on (block then rebound) [MW/MW]."""
        return block_shape(self.length, self.duty, self.rebound_factor)

    @property
    def flex_cost_eur(self) -> float:
        """Price of the shed energy [EUR]."""
        return self.power_mw * self.length * 0.25 * self.cost_eur_per_mwh

    def delta_mw(self, quarter: int) -> float:
        """This block's expected change of the load in ``quarter`` [MW]."""
        k = quarter - self.start
        return float(self.power_mw * self.shape[k]) if 0 <= k < self.shape.size else 0.0

    def blocking(self, quarter: int) -> bool:
        """Whether its relays are open in ``quarter``."""
        return self.start <= quarter < self.start + self.length


@dataclass(frozen=True)
class Decision:
    """What the controller did at one point, and on what grounds (the operator's log record).

    Attributes:
        time_s: start of the point's interval, Unix [s].
        quarter: the point's quarter.
        kind: ``check`` (within a quarter) or ``plan`` (at its last point).
        usable: the point passed the data checks.
        problems: what was wrong with the point.
        stopped: activations are stopped.
        reason: why they are stopped.
        estimate_mw: natural imbalance estimate of the running quarter [MW].
        projected_mw: projected natural imbalance of the quarter decided on [MW] (the running one for a check,
            the next one for a plan), rebound of past blocks included.
        model: forecast model used (plans only).
        forecast_mw: median forecast of the first coming quarters [MW] (plans only).
        issued: blocks started for the next quarter.
        released: running blocks were cut short.
        acting: relays are open after this decision.
        expected_penalty_eur: expected penalty over the horizon with the plan [EUR].
        flex_cost_eur: price of the issued blocks [EUR].
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
    issued: tuple[IssuedBlock, ...] = ()
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
            "issued": [
                {"offer": b.offer, "start": b.start, "length": b.length, "power_mw": b.power_mw} for b in self.issued
            ],
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
    """

    horizon_quarters: int = 24
    deadband_mw: float = DEADBAND_MW
    validation: ValidationRules = field(default_factory=ValidationRules)


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
        self.blocks: list[IssuedBlock] = []
        self._live: list[int] = []
        self._next_forecast: float = math.nan
        self._quarter_temp: list[float] = []
        self._dayahead_mw = math.nan

    # -- own effect ----------------------------------------------------------------------------------------------
    @property
    def active(self) -> list[IssuedBlock]:
        """The blocks whose block or rebound is not over yet."""
        return [self.blocks[i] for i in self._live]

    def own_delta_mw(self, quarter: int) -> float:
        """DOMS's expected change of the load in ``quarter`` (shed negative, rebound positive) [MW]."""
        return sum(b.delta_mw(quarter) for b in self.active)

    def rebound_mw(self, quarter: int) -> float:
        """Rebound already due in ``quarter`` from running or ended blocks [MW]."""
        return sum(max(b.delta_mw(quarter), 0.0) for b in self.active)

    def blocking(self, quarter: int) -> bool:
        """Whether any block holds relays open in ``quarter``."""
        return any(b.blocking(quarter) for b in self.active)

    def _release(self, now: int, end: int) -> bool:
        """Cut the blocks short so that they end at quarter ``end`` (exclusive); True if any held relays at ``now``.

        The rebound of a cut block follows at once (its shape is recomputed for the shorter length).
        """
        acting = self.blocking(now)
        for i in self._live:
            b = self.blocks[i]
            if b.start < end < b.start + b.length:
                self.blocks[i] = replace(b, length=end - b.start)
        return acting

    # -- the cycle -----------------------------------------------------------------------------------------------
    def step(self, point: LivePoint) -> Decision:
        """Process the next 5-minute point (see the module docstring)."""
        if point.time_s % STEP_S:
            raise ValueError("points are 5-minute intervals")
        quarter = (point.time_s - self.start_s) // QUARTER_S
        slot = (point.time_s - self.start_s) % QUARTER_S // STEP_S
        verdict = self.validator.check(point.load_mw, point.dayahead_mw)
        natural = point.load_mw - self.own_delta_mw(quarter) - point.dayahead_mw if verdict.usable else math.nan
        self.estimator.add(quarter, natural)
        if slot == 0:
            self._quarter_temp = []
        self._quarter_temp.append(point.temp_c)
        self._dayahead_mw = point.dayahead_mw
        prior = self._next_forecast if math.isfinite(self._next_forecast) else 0.0
        estimate = self.estimator.estimate(prior)
        base = Decision(
            point.time_s,
            quarter,
            "check",
            verdict.usable,
            tuple(verdict.problems),
            verdict.stopped,
            verdict.reason,
            estimate.imbalance_mw,
            estimate.imbalance_mw + self.rebound_mw(quarter),
        )
        if slot < POINTS_PER_QUARTER - 1:
            released = False
            if verdict.stopped or abs(base.projected_mw) <= self.settings.deadband_mw:
                released = self._release(quarter, quarter + 1)
            # a release closes the relays at once (the bookkeeping keeps the quarter as blocked: shed in part)
            return replace(base, released=released, acting=self.blocking(quarter) and not released)
        known = estimate.imbalance_mw if estimate.points_seen else math.nan
        self.history.add(
            float(self.start_s + quarter * QUARTER_S), known, self._dayahead_mw, float(np.mean(self._quarter_temp))
        )
        return self._plan(base, quarter)

    def _plan(self, base: Decision, quarter: int) -> Decision:
        nxt = quarter + 1
        horizon = self.settings.horizon_quarters
        self._live = [i for i in self._live if self.blocks[i].start + self.blocks[i].shape.size > nxt]
        if base.stopped:
            released = self._release(nxt, nxt)
            self._next_forecast = math.nan
            return replace(base, kind="plan", released=released, acting=self.blocking(nxt))
        outlook = self.env.outlook(nxt, horizon)
        try:
            forecast = self.forecaster.forecast(quarter, self.history.frozen(), outlook)
        except ValueError:
            return replace(base, kind="plan", released=self._release(nxt, nxt), acting=self.blocking(nxt))
        median = forecast.median_mw
        self._next_forecast = float(median[0])
        rebound = np.array([self.rebound_mw(q) for q in range(nxt, nxt + horizon)])
        released = False
        if abs(median[0] + rebound[0]) <= self.settings.deadband_mw:
            released = self._release(nxt, nxt)
            rebound = np.array([self.rebound_mw(q) for q in range(nxt, nxt + horizon)])
        problem = PlanProblem(
            imbalance_mw=forecast.values_mw,
            weights=scenario_weights(forecast.levels),
            rates=self.env.rates(nxt, horizon),
            offers=self.env.offers(nxt, horizon, self._committed(nxt, horizon)),
            deadband_mw=self.settings.deadband_mw,
            rebound_mw=rebound,
        )
        try:
            plan = solve(problem)
        except OptimiserError:
            return replace(base, kind="plan", model=forecast.model, released=released, acting=self.blocking(nxt))
        offers = problem.offers
        issued = tuple(
            IssuedBlock(
                offers[b.offer].name,
                nxt,
                b.length,
                b.power_mw,
                offers[b.offer].duty,
                offers[b.offer].rebound_factor,
                offers[b.offer].cost_eur_per_mwh,
            )
            for b in plan.blocks
            if b.start == 0
        )
        self._live.extend(range(len(self.blocks), len(self.blocks) + len(issued)))
        self.blocks.extend(issued)
        return replace(
            base,
            kind="plan",
            projected_mw=float(plan.projected_mw[0]),
            model=forecast.model,
            forecast_mw=tuple(float(v) for v in median[:8]),
            issued=issued,
            released=released,
            acting=self.blocking(nxt),
            expected_penalty_eur=plan.expected_penalty_eur,
            flex_cost_eur=sum(b.flex_cost_eur for b in issued),
        )

    def _committed(self, first: int, horizon: int) -> dict[str, tuple[F64, F64]]:
        out: dict[str, tuple[F64, F64]] = {}
        for b in self.active:
            delta, occupied = out.setdefault(b.offer, (np.zeros(horizon), np.zeros(horizon)))
            shape = b.shape
            for k in range(horizon):
                j = first + k - b.start
                if 0 <= j < shape.size:
                    delta[k] += b.power_mw * shape[j]
                    occupied[k] += b.power_mw
        return out
