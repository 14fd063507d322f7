"""The controller: data checks stop and resume it, the dead band holds, every decision is a record."""

from __future__ import annotations

import math

import numpy as np
import pytest

from goflex.doms.controller import Controller, ControllerSettings, Decision, LivePoint
from goflex.doms.forecast import History, Outlook, Persistence, QuantileForecast, Selector
from goflex.doms.forecast.base import F64
from goflex.doms.optimiser import StoreOffer
from goflex.doms.prices import FlatPrice, PenaltyRates

START = 1_452_211_200


class FixedEnv:
    """One offer of 2 MW (1 h of headroom), flat prices, a flat schedule; the group's effect is what it was ordered."""

    def __init__(self) -> None:
        self.effect_mw = 0.0

    def outlook(self, first_quarter: int, horizon: int) -> Outlook:
        t = START + 900.0 * np.arange(first_quarter, first_quarter + horizon)
        return Outlook(t, np.full(horizon, 60.0), np.zeros(horizon))

    def rates(self, first_quarter: int, horizon: int) -> PenaltyRates:
        return FlatPrice(10.0).rates(np.zeros(horizon), None, None)

    def offers(self, first_quarter: int, horizon: int, committed: dict[str, tuple[F64, F64]]) -> tuple[StoreOffer, ...]:
        del committed
        return (StoreOffer("g", np.full(horizon, 2.0), hold_h=1.0, cost_eur_per_mwh=0.1, effect_mw=self.effect_mw),)


def _controller(horizon: int = 8) -> Controller:
    return Controller(
        start_s=START,
        environment=FixedEnv(),
        forecaster=Selector(models=[Persistence()]),
        settings=ControllerSettings(horizon_quarters=horizon),
    )


def _run(c: Controller, imbalance: list[float], first: int = 0) -> list[Decision]:
    """Feed points from interval ``first`` on, with a small ripple (identical values would read as stuck)."""
    return [
        c.step(LivePoint(START + 300 * (first + i), 60.0 + x + 0.02 * math.sin(1.7 * i), 60.0, 0.0))
        for i, x in enumerate(imbalance)
    ]


def test_gap_stops_activations_and_good_data_resumes_them() -> None:
    c = _controller()
    values = [3.0] * 6 + [math.nan] + [3.0] * 12
    decisions = _run(c, values)
    assert decisions[6].stopped
    assert decisions[6].reason == "gap"
    assert not any(d.issued for d in decisions[6:9]), "no activation while stopped"
    assert not decisions[-1].stopped


def test_inside_the_dead_band_nothing_is_done() -> None:
    c = _controller()
    rng = np.random.default_rng(1)
    decisions = _run(c, list(rng.uniform(-0.9, 0.9, 96)))
    assert not any(d.issued or d.acting for d in decisions)


class PatternForecast:
    """Knows the coming quarters: +3 MW in even half-hours, -3 MW in odd ones."""

    def forecast(self, quarter: int, history: History, outlook: Outlook) -> QuantileForecast:
        q = np.arange(quarter + 1, quarter + 1 + outlook.horizon)
        return QuantileForecast((0.5,), np.where((q // 2) % 2 == 0, 3.0, -3.0)[None, :], "pattern")


def test_a_projection_inside_the_band_releases_everything() -> None:
    env = FixedEnv()
    c = Controller(start_s=START, environment=env, forecaster=PatternForecast())
    pattern = ([3.0] * 6 + [-3.0] * 6) * 3
    decisions = _run(c, pattern)
    assert any(d.issued for d in decisions), "short then long: worth shedding"
    assert c.blocking()
    # the natural imbalance falls inside the band: measured = natural + DOMS's own effect
    env.effect_mw = -c.targets["g"]
    d = _run(c, [0.1 + env.effect_mw] * 3, first=len(pattern))
    assert d[0].released
    assert d[0].sets_targets
    assert not d[0].issued
    assert not d[0].acting
    assert not d[1].acting
    for x in decisions + d:
        if x.acting:
            assert abs(x.projected_mw) > 1.0


def test_within_the_quarter_a_clear_sign_is_acted_on() -> None:
    c = Controller(start_s=START, environment=FixedEnv(), forecaster=PatternForecast())
    decisions = _run(c, [-3.0] * 6 + [3.0])
    assert decisions[-1].kind == "replan"
    assert decisions[-1].quarter == 2
    assert decisions[-1].projected_mw == pytest.approx(3.0, abs=0.1)


def test_decisions_are_records_with_their_inputs() -> None:
    c = _controller()
    decisions = _run(c, [3.0] * 9)
    record = decisions[-1].record()
    assert record["kind"] == "plan"
    assert record["model"] == "persistence"
    assert {"estimate_mw", "projected_mw", "forecast_mw", "issued", "stopped", "reason"} <= set(record)
    assert record["estimate_mw"] == pytest.approx(3.0, abs=0.05)


def test_scenario_spread_moves_the_quantiles_away_from_the_median() -> None:
    with pytest.raises(ValueError, match="scenario_spread"):
        ControllerSettings(scenario_spread=0.0)
    c = Controller(
        start_s=START,
        environment=FixedEnv(),
        forecaster=Selector(models=[Persistence()]),
        settings=ControllerSettings(scenario_spread=1.5),
    )
    values = np.array([[-1.0, 0.0], [1.0, 2.0], [2.0, 6.0]])
    widened = c._scenarios(values, (0.1, 0.5, 0.9))
    np.testing.assert_allclose(widened, [[-2.0, -1.0], [1.0, 2.0], [2.5, 8.0]])
    np.testing.assert_array_equal(values[0], [-1.0, 0.0])  # the forecast itself is left alone
