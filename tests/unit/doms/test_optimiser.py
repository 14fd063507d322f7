"""The shedding LP: dead band never crossed, energy of the rebound, sensible choices, merged offers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.doms.optimiser import OptimiserError, PlanProblem, ShedOffer, block_shape, solve
from goflex.doms.prices import FlatPrice, TwoPrice

ONE = np.array([1.0])


def _offer(t: int, cap: float = 2.0, duty: float = 0.5, name: str = "g", cost: float = 0.0) -> ShedOffer:
    return ShedOffer(name, np.full(t, cap), (1, 2, 4), duty=duty, cost_eur_per_mwh=cost)


def _problem(imbalance: list[float], offers: tuple[ShedOffer, ...], price: float = 10.0) -> PlanProblem:
    x = np.asarray(imbalance, dtype=np.float64)[None, :]
    return PlanProblem(x, ONE, FlatPrice(price).rates(np.zeros(x.shape[1]), None, None), offers)


@given(duty=st.floats(0.05, 0.95), length=st.integers(1, 8), factor=st.floats(1.0, 1.2))
def test_rebound_returns_the_shed_energy_times_the_factor(duty: float, length: int, factor: float) -> None:
    shape = block_shape(length, duty, factor)
    assert np.all(shape[:length] == -1.0)
    assert shape[length:].sum() == pytest.approx(factor * length)
    assert shape[length:].max() <= (1 - duty) / duty + 1e-9


def test_sheds_when_short_and_puts_the_rebound_where_long() -> None:
    plan = solve(_problem([3.0, 3.0, -3.0, -3.0, -3.0, -3.0], (_offer(6),)))
    assert plan.blocks, "a short period followed by a long one is worth shifting"
    assert plan.delta_mw[:2].sum() < 0 < plan.delta_mw[2:].sum()
    assert plan.expected_penalty_eur < 10.0 * 0.25 * 18.0


def test_no_imbalance_no_action() -> None:
    plan = solve(_problem([0.0] * 8, (_offer(8),)))
    assert plan.blocks == ()
    assert plan.flex_cost_eur == 0.0


def test_no_shed_when_the_rebound_lands_in_the_same_short_run_and_flex_costs() -> None:
    plan = solve(_problem([3.0] * 12, (_offer(12, cost=1.0),)))
    assert plan.blocks == ()


@settings(max_examples=40, deadline=None)
@given(
    imbalance=st.lists(st.floats(-6.0, 6.0), min_size=4, max_size=16),
    cap=st.floats(0.1, 5.0),
    duty=st.floats(0.1, 0.9),
)
def test_dead_band_never_crossed(imbalance: list[float], cap: float, duty: float) -> None:
    t = len(imbalance)
    problem = _problem(imbalance, (_offer(t, cap, duty),))
    plan = solve(problem)
    inside = np.abs(np.asarray(imbalance)) <= 1.0
    for b in plan.blocks:
        assert not inside[b.start : b.start + b.length].any(), "a block covers a quarter inside the dead band"
        assert b.start + problem.offers[b.offer].shape(b.length).size <= t, "the rebound must end in the horizon"
    # capacity: blocks and rebounds of the offer never exceed its baseline power
    used = np.zeros(t)
    for b in plan.blocks:
        used[b.start : b.start + problem.offers[b.offer].shape(b.length).size] += b.power_mw
    assert np.all(used <= cap + 1e-6)


def test_merged_offers_reach_the_same_optimum() -> None:
    t = 12
    imbalance = [4.0, 4.0, 3.0, -3.0, -4.0, -4.0, -3.0, 2.0, 2.0, -2.0, -2.0, -2.0]
    offers = tuple(_offer(t, 0.5, 0.5, name=f"o{i}") for i in range(4))
    x = np.asarray(imbalance)[None, :]
    problem = PlanProblem(x, ONE, TwoPrice().rates(np.full(t, 50.0), None, None), offers)
    merged, single = solve(problem), solve(problem, merge=False)
    assert merged.expected_penalty_eur == pytest.approx(single.expected_penalty_eur, abs=1e-6)
    total = {o: sum(b.power_mw for b in merged.blocks if b.offer == o) for o in range(4)}
    assert len(set(np.round(list(total.values()), 6))) == 1, "identical offers share the blocks equally"


def test_inconsistent_inputs_are_refused() -> None:
    with pytest.raises(OptimiserError, match="weights"):
        solve(PlanProblem(np.zeros((1, 4)), np.array([0.5]), FlatPrice().rates(np.zeros(4), None, None), ()))
    with pytest.raises(OptimiserError, match="duty"):
        ShedOffer("x", np.ones(4), (1,), duty=1.0)
