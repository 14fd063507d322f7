"""The shed-and-recover LP: dead band never crossed, deficit within comfort, energy returned, merged offers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.doms.optimiser import QUARTER_H, OptimiserError, PlanProblem, ShedOffer, StoreOffer, solve
from goflex.doms.prices import FlatPrice, TwoPrice

ONE = np.array([1.0])


def _offer(
    t: int, cap: float = 2.0, hold_h: float = 1.0, name: str = "g", cost: float = 0.0, **kw: float
) -> StoreOffer:
    return StoreOffer(name, np.full(t, cap), hold_h=hold_h, recovery_share=0.5, cost_eur_per_mwh=cost, **kw)  # type: ignore[arg-type]


def _problem(imbalance: list[float], offers: tuple[ShedOffer, ...], price: float = 10.0) -> PlanProblem:
    x = np.asarray(imbalance, dtype=np.float64)[None, :]
    return PlanProblem(x, ONE, FlatPrice(price).rates(np.zeros(x.shape[1]), None, None), offers)


def test_sheds_when_short_and_recovers_when_long() -> None:
    plan = solve(_problem([3.0, 3.0, -3.0, -3.0, -3.0, -3.0], (_offer(6),)))
    assert plan.shed_mw[0, :2].sum() > 0, "a short period followed by a long one is worth shifting"
    assert plan.delta_mw[:2].sum() < 0 < plan.delta_mw[2:].sum()
    assert plan.expected_penalty_eur < 10.0 * 0.25 * 18.0


def test_recovery_returns_the_withheld_energy_times_the_rebound_factor() -> None:
    offer = _offer(8, rebound_factor=1.05)
    plan = solve(_problem([3.0, 3.0, 3.0, -3.0, -3.0, -3.0, -3.0, -3.0], (offer,)))
    shed, recovered = plan.shed_mw.sum() * QUARTER_H, plan.recovery_mw.sum() * QUARTER_H
    assert shed > 0
    assert recovered == pytest.approx(1.05 * shed, rel=1e-6)


def test_no_imbalance_no_action() -> None:
    plan = solve(_problem([0.0] * 8, (_offer(8),)))
    assert plan.shed_mw.sum() == 0.0
    assert plan.flex_cost_eur == 0.0


def test_no_shed_when_the_recovery_lands_in_the_same_short_run_and_flex_costs() -> None:
    plan = solve(_problem([3.0] * 12, (_offer(12, cost=1.0),)))
    assert plan.shed_mw.sum() < 1e-6


def test_a_running_deficit_is_recovered_where_it_costs_least() -> None:
    offer = _offer(6, held_mwh=0.4, blocked_mw=1.0)
    plan = solve(_problem([2.0, -3.0, -3.0, 2.0, 2.0, 2.0], (offer,)))
    assert plan.recovery_mw[0, 1:3].sum() > 0.9 * plan.recovery_mw[0].sum(), "recover in the long quarters"


@settings(max_examples=40, deadline=None)
@given(
    imbalance=st.lists(st.floats(-6.0, 6.0), min_size=4, max_size=16),
    cap=st.floats(0.1, 5.0),
    hold_h=st.floats(0.1, 4.0),
    held=st.floats(0.0, 1.0),
)
def test_dead_band_never_crossed_and_comfort_held(
    imbalance: list[float], cap: float, hold_h: float, held: float
) -> None:
    t = len(imbalance)
    offer = _offer(t, cap, hold_h, held_mwh=held)
    plan = solve(_problem(imbalance, (offer,)))
    inside = np.abs(np.asarray(imbalance)) <= 1.0
    assert np.all(plan.shed_mw[0][inside] <= 1e-9), "no shed in a quarter inside the dead band"
    assert np.all(plan.shed_mw[0] <= cap + 1e-6)
    assert np.all(plan.held_mwh[0] <= hold_h * plan.shed_mw[0] + 1e-6), "no more deficit than the blocked can hold"
    withheld = held + plan.shed_mw[0].sum() * QUARTER_H
    assert plan.recovery_mw[0].sum() * QUARTER_H <= withheld + 1e-6, "never more recovery than was withheld"


def test_merged_offers_reach_the_same_optimum() -> None:
    t = 12
    imbalance = [4.0, 4.0, 3.0, -3.0, -4.0, -4.0, -3.0, 2.0, 2.0, -2.0, -2.0, -2.0]
    offers = tuple(_offer(t, 0.5, 1.0, name=f"o{i}") for i in range(4))
    x = np.asarray(imbalance)[None, :]
    problem = PlanProblem(x, ONE, TwoPrice().rates(np.full(t, 50.0), None, None), offers)
    merged, single = solve(problem), solve(problem, merge=False)
    assert merged.expected_penalty_eur == pytest.approx(single.expected_penalty_eur, abs=1e-6)
    totals = merged.shed_mw.sum(axis=1)
    assert np.allclose(totals, totals[0]), "identical offers share the shed equally"


def test_within_a_quarter_only_the_rest_of_it_is_controlled() -> None:
    offer = _offer(4, cap=3.0)
    full = solve(_problem([2.0, -3.0, -3.0, -3.0], (offer,)))
    rates = FlatPrice(10.0).rates(np.zeros(4), None, None)
    third = solve(PlanProblem(np.array([[2.0, -3.0, -3.0, -3.0]]), ONE, rates, (offer,), first_fraction=1 / 3))
    assert full.delta_mw[0] == pytest.approx(-2.0, abs=1e-6), "the whole quarter: shed exactly the imbalance"
    assert third.delta_mw[0] == pytest.approx(-1.0, abs=1e-6), "a third of it: 3 MW x 1/3"


def test_inconsistent_inputs_are_refused() -> None:
    with pytest.raises(OptimiserError, match="weights"):
        solve(PlanProblem(np.zeros((1, 4)), np.array([0.5]), FlatPrice().rates(np.zeros(4), None, None), ()))
    with pytest.raises(OptimiserError, match="hold_h"):
        StoreOffer("x", np.ones(4), hold_h=0.0)
    with pytest.raises(OptimiserError, match="duty"):
        ShedOffer("x", np.ones(4), (1,), duty=1.0)
    with pytest.raises(OptimiserError, match="first_fraction"):
        solve(PlanProblem(np.zeros((1, 4)), ONE, FlatPrice().rates(np.zeros(4), None, None), (), first_fraction=0))


def test_a_block_offer_is_planned_as_a_store() -> None:
    block = ShedOffer("b", np.full(6, 2.0), (1, 2, 4), duty=0.3, cost_eur_per_mwh=0.0)
    store = block.to_store()
    assert store.hold_h == pytest.approx(1.0)
    plan = solve(_problem([3.0, 3.0, -3.0, -3.0, -3.0, -3.0], (block,)))
    assert plan.shed_mw[0, :2].sum() > 0
