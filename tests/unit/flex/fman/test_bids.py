"""Bid building: min/max-energy bounds against brute force, baseline, tariffs, validity, pay-as-bid value."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex import (
    AggregationParameters,
    EnergyConstraint,
    FlexOffer,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
    aggregate,
    validate_offer,
)
from goflex.flex.fman.bids import (
    BidPricing,
    aggregate_baseline,
    build_bid,
    energy_range,
    market_payment_eur,
)
from goflex.flex.fman.sale import member_baseline
from tests.unit.flex.flex_strategies import ORIGIN, fixed_offer, offer_sets

PARAMS = AggregationParameters(origin=ORIGIN)
PRICING = BidPricing(up_cost_eur_per_kwh=0.06, down_cost_eur_per_kwh=0.05, delivery_margin_s=300)


def _brute_force(bounds: list[EnergyConstraint], total: EnergyConstraint) -> list[tuple[float, float]]:
    """Min and max of each interval over a quarter-kWh grid of assignments meeting the total (exact on grid data)."""
    grids = [[b.lower + 0.25 * i for i in range(round((b.upper - b.lower) / 0.25) + 1)] for b in bounds]
    feasible = [x for x in itertools.product(*grids) if total.lower - 1e-9 <= sum(x) <= total.upper + 1e-9]
    return [(min(x[k] for x in feasible), max(x[k] for x in feasible)) for k in range(len(bounds))]


quarter = st.integers(-8, 8).map(lambda n: n / 4)


@st.composite
def boxes_with_total(draw: st.DrawFn) -> tuple[list[EnergyConstraint], EnergyConstraint]:
    bounds = []
    for _ in range(draw(st.integers(1, 4))):
        a, b = sorted((draw(quarter), draw(quarter)))
        bounds.append(EnergyConstraint(a, b))
    low, high = sum(b.lower for b in bounds), sum(b.upper for b in bounds)
    lo = draw(st.integers(round(low * 4) - 4, round(high * 4)).map(lambda n: n / 4))
    hi = draw(st.integers(max(round(lo * 4), round(low * 4)), round(high * 4) + 4).map(lambda n: n / 4))
    return bounds, EnergyConstraint(lo, hi)


@settings(max_examples=60, deadline=None)
@given(boxes_with_total())
def test_energy_range_equals_brute_force(case: tuple[list[EnergyConstraint], EnergyConstraint]) -> None:
    bounds, total = case
    got = energy_range(bounds, total)
    for r, (lo, hi) in zip(got, _brute_force(bounds, total), strict=True):
        assert r.lower == pytest.approx(lo, abs=1e-6)
        assert r.upper == pytest.approx(hi, abs=1e-6)


def test_energy_range_tightens_by_the_total_by_hand() -> None:
    # Three intervals of [0, 2] kWh that must total at least 5 kWh: each needs at least 1 kWh.
    got = energy_range([EnergyConstraint(0, 2)] * 3, EnergyConstraint(5, 6))
    assert [(r.lower, r.upper) for r in got] == [pytest.approx((1.0, 2.0))] * 3
    assert energy_range([EnergyConstraint(0, 2)], None) == [EnergyConstraint(0, 2)]


def test_energy_range_refuses_an_infeasible_total() -> None:
    with pytest.raises(ValueError, match="infeasible"):
        energy_range([EnergyConstraint(0, 1)] * 2, EnergyConstraint(5, 6))


def test_member_baseline_spreads_the_default_schedule_and_falls_back_to_lower_bounds() -> None:
    offer = fixed_offer("a", 0, 2, (2, 0.0, 2.0), (1, 0.5, 1.0))
    assert member_baseline(offer) == (0.0, 0.0, 0.5)  # no default schedule: lower bounds
    with_default = _with_default(offer, 1.5, 1.0)
    assert member_baseline(with_default) == (0.75, 0.75, 1.0)


def _with_default(offer: FlexOffer, *amounts: float) -> FlexOffer:
    slices = tuple(ScheduleSlice(s.min_duration, a) for s, a in zip(offer.profile, amounts, strict=True))
    return replace(offer, default_schedule=Schedule(offer.start_after_time, slices))


def test_aggregate_baseline_places_members_at_their_offsets() -> None:
    a = _with_default(fixed_offer("a", 0, 2, (2, 0.0, 2.0)), 2.0)  # 1.0 per interval from EST
    b = fixed_offer("b", 1, 2, (1, 0.5, 1.0))  # one interval later, baseline = its lower bound 0.5
    agg = aggregate([a, b], AggregationParameters(origin=ORIGIN, est_tolerance=4))
    assert agg.offsets == (0, 1)
    assert aggregate_baseline(agg) == [1.0, 1.5]


def test_bid_bounds_baseline_tariffs_and_deadline() -> None:
    a = _with_default(fixed_offer("a", 0, 2, (2, 0.0, 2.0)), 2.0)
    asks_more = ProfileSlice(1, 1, (EnergyConstraint(0.5, 1.0),), TariffConstraint(-0.10, 0.02))
    b = replace(fixed_offer("b", 1, 2, (1, 0.5, 1.0)), profile=(asks_more,))
    agg = aggregate([a, b], AggregationParameters(origin=ORIGIN, est_tolerance=4))
    bid = build_bid(agg, bid_id="bid-1", aggregator_id="fman", pricing=PRICING, location_id="sion-1")
    assert validate_offer(bid) == []
    assert [s.energy_constraints[0] for s in bid.profile] == [EnergyConstraint(0.0, 1.0), EnergyConstraint(0.5, 2.0)]
    # Interval 0: a has no tariff, nothing is for sale there. Interval 1: b is priced, but it sits at its lower
    # bound (its baseline without a default schedule), so it sells up only: its -0.10 for going down does not count.
    assert [s.tariff_constraint for s in bid.profile] == [None, TariffConstraint(-0.05, 0.06)]
    assert bid.default_schedule is not None
    assert [s.energy_amount for s in bid.default_schedule.slices] == [1.0, 1.5]
    assert bid.assignment_before_time == agg.offer.assignment_before_time - timedelta(seconds=300)
    assert (bid.id, bid.offered_by_id, bid.location_id) == ("bid-1", "fman", "sion-1")
    assert bid.start_after_time == agg.offer.start_after_time


@settings(max_examples=40, deadline=None)
@given(offer_sets())
def test_every_bid_of_valid_offers_is_valid_and_within_the_aggregate(offers: list[FlexOffer]) -> None:
    for agg in [aggregate([o], PARAMS) for o in offers]:
        bid = build_bid(agg, bid_id="b", aggregator_id="fman", pricing=PRICING)
        assert validate_offer(bid) == []
        for s, a in zip(bid.profile, agg.offer.profile, strict=True):
            got, own = s.energy_constraints[0], a.energy_constraints[0]
            assert own.lower - 1e-9 <= got.lower <= got.upper <= own.upper + 1e-9


def test_market_payment_is_pay_as_bid_on_the_deviation_by_hand() -> None:
    a = _with_default(fixed_offer("a", 0, 0, (1, 0.0, 4.0), (1, 0.0, 4.0)), 2.0, 2.0)
    a = replace(a, profile=tuple(replace(s, tariff_constraint=TariffConstraint(-0.01, 0.01)) for s in a.profile))
    bid = build_bid(aggregate([a], PARAMS), bid_id="b", aggregator_id="f", pricing=PRICING)
    schedule = Schedule(bid.start_after_time, (ScheduleSlice(1, 3.0), ScheduleSlice(1, 0.5)))
    # +1 kWh at 0.06 EUR/kWh and -1.5 kWh at 0.05 EUR/kWh: 0.06 + 0.075.
    assert market_payment_eur(bid, schedule) == pytest.approx(0.135)
