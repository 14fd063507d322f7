"""What members offer for sale reaches the market, and nothing else (issue 4, fix 2).

Two FOA-style interruption offers (two priced slices that can only go down, then two unpriced rebound slices that
could only go up), the second starting two intervals later so its interruption overlaps the first's rebound. FMAN
aggregates them into one bid; FMAR's own matcher (:func:`goflex.flex.fmar.matching.match`) then serves buyers who
want as much as possible in either direction at any price. Only the interruptions may be sold, only down.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex import (
    AggregationParameters,
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
    aggregate,
    disaggregate,
    validate_offer,
)
from goflex.flex.fman.bids import BidPricing, build_bid
from goflex.flex.fman.sale import for_sale, slice_directions, slice_references
from goflex.flex.fmar.matching import BidView, match
from goflex.flex.fmar.terms import BuyTerms, Direction, bid_terms, slot_of
from tests.unit.flex.flex_strategies import ORIGIN, STEP, fixed_offers

PRICE = TariffConstraint(-0.05, 0.05)
PRICING = BidPricing(0.06, 0.06, 300)
EST = ORIGIN + timedelta(hours=4)


def interruption(offer_id: str, est_intervals: int) -> FlexOffer:
    """Two priced slices ``[0, 1]`` at baseline 1 (down only), two unpriced rebound slices above baseline."""
    start = EST + est_intervals * STEP
    profile = (
        ProfileSlice(1, 1, (EnergyConstraint(0.0, 1.0),), PRICE),
        ProfileSlice(1, 1, (EnergyConstraint(0.0, 1.0),), PRICE),
        ProfileSlice(1, 1, (EnergyConstraint(1.0, 1.6),)),
        ProfileSlice(1, 1, (EnergyConstraint(1.0, 1.4),)),
    )
    return FlexOffer(
        id=offer_id,
        state=FlexOfferState.OFFERED,
        offered_by_id=f"house-{offer_id}",
        creation_time=ORIGIN,
        accept_before_time=ORIGIN + timedelta(hours=1),
        assignment_before_time=ORIGIN + timedelta(hours=2),
        start_after_time=start,
        start_before_time=start,
        profile=profile,
        default_schedule=Schedule(start, tuple(ScheduleSlice(1, 1.0) for _ in profile)),
    )


def the_bid(*members: FlexOffer) -> FlexOffer:
    agg = aggregate([for_sale(m) for m in members], AggregationParameters(origin=ORIGIN, est_tolerance=4))
    return build_bid(agg, bid_id="bid-1", aggregator_id="fman", pricing=PRICING)


def sold(bid: FlexOffer, direction: Direction) -> dict[int, float]:
    """Energy per bid interval FMAR's matcher sells to a buyer wanting 10 kWh in every slot at up to 1 EUR/kWh."""
    first = slot_of(bid.start_after_time)
    order = BuyTerms(direction, None, 1.0, {first + k: 10.0 for k in range(len(bid.profile))}, True)
    view = BidView("bid-1", bid_terms(bid, max_abs_price=10.0), None)
    out: dict[int, float] = {}
    for fill in match(order, dict(order.slots), [view], first_slot=first - 4):
        out[fill.slice_index] = out.get(fill.slice_index, 0.0) + fill.energy_kwh
    return out


def test_unpriced_rebound_slices_and_down_only_slices_are_never_sold_up() -> None:
    bid = the_bid(interruption("a", 0), interruption("b", 2))
    assert validate_offer(bid) == []
    # intervals 2-3: a's rebound (pinned at its baseline) under b's interruption; 4-5: b's rebound alone
    assert [(s.energy_constraints[0].lower, s.energy_constraints[0].upper) for s in bid.profile] == [
        (0.0, 1.0),
        (0.0, 1.0),
        (1.0, 2.0),
        (1.0, 2.0),
        (1.0, 1.0),
        (1.0, 1.0),
    ]
    assert [s.tariff_constraint is not None for s in bid.profile] == [True] * 4 + [False] * 2
    assert sold(bid, Direction.UP) == {}, "no member offered anything up"
    assert sold(bid, Direction.DOWN) == {k: pytest.approx(1.0) for k in range(4)}, "each interruption, down only"


def test_a_member_asking_more_raises_the_price_only_in_the_direction_it_sells() -> None:
    # b sits at its upper bound (down only) and asks 0.50 up: its up price must not count; its down price does.
    asks_more = TariffConstraint(-0.09, 0.50)
    b = interruption("b", 0)
    b = replace(b, profile=(ProfileSlice(1, 1, (EnergyConstraint(0.0, 1.0),), asks_more), *b.profile[1:]))
    bid = the_bid(interruption("a", 0), b)
    assert bid.profile[0].tariff_constraint == TariffConstraint(-0.09, 0.06)
    assert bid.profile[1].tariff_constraint == TariffConstraint(-0.06, 0.06)
    assert bid.profile[2].tariff_constraint is None


tariffs = st.one_of(st.none(), st.just(PRICE))


@settings(max_examples=60, deadline=None)
@given(st.lists(fixed_offers("m", with_tec=False), min_size=1, max_size=3), st.data())
def test_any_schedule_of_the_bid_leaves_every_unpriced_member_slice_at_its_reference(
    offers: list[FlexOffer], data: st.DataObject
) -> None:
    members = [
        replace(
            offer,
            id=f"m{i}",
            profile=tuple(replace(s, tariff_constraint=data.draw(tariffs)) for s in offer.profile),
        )
        for i, offer in enumerate(offers)
    ]
    pinned = [for_sale(m) for m in members]
    agg = aggregate(pinned, AggregationParameters(origin=ORIGIN, est_tolerance=16, tf_tolerance=16))
    bid = build_bid(agg, bid_id="b", aggregator_id="fman", pricing=PRICING)
    # a schedule anywhere in the bid's bounds (here: a random mix of the extremes) at a random start
    start = (
        agg.offer.start_after_time
        + data.draw(st.integers(0, int((agg.offer.start_before_time - agg.offer.start_after_time) / STEP))) * STEP
    )
    extremes = [(s.energy_constraints[0].lower, s.energy_constraints[0].upper) for s in bid.profile]
    amounts = [data.draw(st.sampled_from(pair)) for pair in extremes]
    parts = disaggregate(agg, Schedule(start, tuple(ScheduleSlice(1, a) for a in amounts)))
    for member in members:
        schedule = parts.schedules[member.id]
        for s, sale, ref, item in zip(
            member.profile, slice_directions(member), slice_references(member), schedule.slices, strict=True
        ):
            if s.tariff_constraint is None:
                assert item.energy_amount == pytest.approx(ref, abs=1e-6), "an unpriced slice moved"
            else:
                assert sale.up or item.energy_amount <= ref + 1e-6
                assert sale.down or item.energy_amount >= ref - 1e-6
