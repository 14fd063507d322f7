"""Start-aligned aggregation: grid grouping, summing rules, flexibility loss and incremental updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex import EnergyConstraint, FlexOffer, ProfileSlice, Schedule, ScheduleSlice, validate_offer
from goflex.flex.aggregation import (
    AggregationParameters,
    Aggregator,
    Alignment,
    TecPolicy,
    aggregate,
    aggregate_all,
    aggregate_id,
    interval_bounds,
    time_flexibility,
    time_flexibility_loss,
)

from .flex_strategies import ORIGIN, STEP, fixed_offer, offer_sets

FOUR = ORIGIN + timedelta(hours=4)
_offer = fixed_offer


def _bounds(offer: FlexOffer) -> list[tuple[float, float]]:
    return [(s.energy_constraints[0].lower, s.energy_constraints[0].upper) for s in offer.profile]


def test_a_slice_of_d_intervals_spreads_its_bounds_evenly() -> None:
    offer = _offer("a", 0, 0, (2, 1.0, 3.0), (1, -1.0, 0.0))
    assert interval_bounds(offer) == (
        EnergyConstraint(0.5, 1.5),
        EnergyConstraint(0.5, 1.5),
        EnergyConstraint(-1.0, 0.0),
    )


def test_variable_duration_offers_stay_single() -> None:
    fixed = _offer("a", 0, 2, (1, 0.0, 1.0))
    variable = replace(fixed, id="v", profile=(ProfileSlice(1, 3, (EnergyConstraint(0.0, 1.0),)),))
    aggregator = aggregate_all([fixed, variable], AggregationParameters(ORIGIN))
    assert aggregator.singles() == (variable,)
    assert [a.member_ids for a in aggregator.aggregates()] == [("a",)]


def test_members_are_start_aligned_and_summed() -> None:
    a = _offer("a", 2, 4, (2, 0.0, 2.0))
    b = _offer("b", 3, 6, (1, 1.0, 1.0), (1, 0.0, 3.0))
    b = replace(b, total_energy_constraint=EnergyConstraint(2.0, 3.5), accept_before_time=ORIGIN + STEP)
    agg = aggregate([b, a], AggregationParameters(ORIGIN, aggregator_id="fman"))
    assert agg.member_ids == ("a", "b")
    assert agg.offsets == (0, 1)
    assert agg.offer.start_after_time == FOUR + 2 * STEP
    assert time_flexibility(agg.offer) == 4
    assert agg.offer.accept_before_time == ORIGIN + STEP
    assert agg.offer.offered_by_id == "fman"
    # a: [0,1] [0,1]; b at offset 1: [1,1] then [0,3] tightened by its TEC to [1,2.5].
    assert _bounds(agg.offer) == [(0.0, 1.0), (1.0, 2.0), (1.0, 2.5)]
    # a contributes its slice sum [0, 2]; b its TEC [2, 3.5].
    assert agg.offer.total_energy_constraint == EnergyConstraint(2.0, 5.5)
    assert agg.offer.id == aggregate_id(["b", "a"])
    assert validate_offer(agg.offer) == []


def test_consumption_and_production_never_share_a_group() -> None:
    offers = [_offer("c", 0, 0, (1, 0.0, 1.0)), _offer("p", 0, 0, (1, -1.0, 0.0)), _offer("m", 0, 0, (1, -1, 1))]
    aggregates = aggregate_all(offers, AggregationParameters(ORIGIN, est_tolerance=8, tf_tolerance=8)).aggregates()
    assert sorted(a.member_ids for a in aggregates) == [("c",), ("m",), ("p",)]


def test_grid_cells_split_on_est_and_tf_tolerances() -> None:
    offers = [
        _offer("a", 0, 2, (1, 0, 1)),
        _offer("b", 3, 3, (1, 0, 1)),  # same cells as a with tolerance 4
        _offer("c", 4, 2, (1, 0, 1)),  # next EST cell
        _offer("d", 0, 4, (1, 0, 1)),  # next tf cell
    ]
    groups = aggregate_all(offers, AggregationParameters(ORIGIN, est_tolerance=4, tf_tolerance=4)).aggregates()
    assert sorted(a.member_ids for a in groups) == [("a", "b"), ("c",), ("d",)]
    exact = aggregate_all(offers, AggregationParameters(ORIGIN)).aggregates()
    assert len(exact) == 4


def test_group_size_is_bounded() -> None:
    offers = [_offer(f"o{i}", 0, 0, (1, 0, 1)) for i in range(7)]
    groups = aggregate_all(offers, AggregationParameters(ORIGIN, max_members=3)).aggregates()
    assert sorted(len(a.members) for a in groups) == [1, 3, 3]


def test_adding_twice_and_bad_parameters_are_refused() -> None:
    aggregator = Aggregator(AggregationParameters(ORIGIN))
    aggregator.add(_offer("a", 0, 0, (1, 0, 1)))
    with pytest.raises(ValueError, match="already"):
        aggregator.add(_offer("a", 0, 0, (1, 0, 1)))
    with pytest.raises(ValueError, match="max_members"):
        AggregationParameters(ORIGIN, max_members=0)


def test_incremental_add_keeps_untouched_aggregates() -> None:
    aggregator = aggregate_all(
        [_offer("a", 0, 0, (1, 0, 1)), _offer("b", 9, 0, (1, 0, 1))], AggregationParameters(ORIGIN)
    )
    before = {a.member_ids: a for a in aggregator.aggregates()}
    aggregator.add(_offer("c", 9, 0, (1, 0, 2)))
    after = {a.member_ids: a for a in aggregator.aggregates()}
    assert after[("a",)] is before[("a",)]
    assert ("b", "c") in after


_params = st.builds(
    AggregationParameters,
    origin=st.just(ORIGIN),
    est_tolerance=st.integers(0, 6),
    tf_tolerance=st.integers(0, 6),
    max_members=st.integers(1, 5),
    alignment=st.sampled_from(Alignment),
    tec_policy=st.sampled_from(TecPolicy),
)


@settings(max_examples=80, deadline=None)
@given(offers=offer_sets(), params=_params)
def test_aggregates_are_valid_and_lose_exactly_the_tf_difference(
    offers: list[FlexOffer], params: AggregationParameters
) -> None:
    aggregator = aggregate_all(offers, params)
    aggregates = aggregator.aggregates()
    members = [i for a in aggregates for i in a.member_ids] + [o.id for o in aggregator.singles()]
    assert sorted(members) == sorted(o.id for o in offers)
    if params.tec_policy is not TecPolicy.SINGLE:  # fixed-duration offers all aggregate
        assert aggregator.singles() == ()
    for agg in aggregates:
        assert validate_offer(agg.offer) == []
        tf_a = time_flexibility(agg.offer)
        if params.alignment is Alignment.START:
            assert tf_a == min(time_flexibility(m) for m in agg.members)
        assert 0 <= tf_a <= min(time_flexibility(m) for m in agg.members)
        assert time_flexibility_loss(agg) == sum(time_flexibility(m) for m in agg.members) - tf_a
        # A member scheduled through the aggregate may start anywhere in [EST(f), EST(f) + tf(a)].
        lost_start_choices = sum(time_flexibility(m) - tf_a for m in agg.members)
        assert lost_start_choices >= 0
        if params.tf_tolerance == 0 and params.alignment is Alignment.START:
            assert lost_start_choices == 0
            assert time_flexibility_loss(agg) == (len(agg.members) - 1) * tf_a


@settings(max_examples=60, deadline=None)
@given(offers=offer_sets(), params=_params, data=st.data())
def test_incremental_add_remove_update_equals_a_rebuild(
    offers: list[FlexOffer], params: AggregationParameters, data: st.DataObject
) -> None:
    aggregator = Aggregator(params)
    for offer in offers:
        aggregator.add(offer)
    removed = data.draw(st.sets(st.sampled_from([o.id for o in offers])))
    for offer_id in sorted(removed):
        aggregator.remove(offer_id)
    kept = [o for o in offers if o.id not in removed]
    if kept:
        moved = replace(
            kept[0],
            start_after_time=kept[0].start_after_time + STEP,
            start_before_time=kept[0].start_before_time + 2 * STEP,
        )
        aggregator.update(moved)
        kept[0] = moved
    assert aggregator.aggregates() == aggregate_all(kept, params).aggregates()


@settings(max_examples=150, deadline=None)
@given(offers=offer_sets(), params=_params, data=st.data())
def test_the_batch_path_equals_adding_one_by_one(
    offers: list[FlexOffer], params: AggregationParameters, data: st.DataObject
) -> None:
    # aggregate_all is columnar (numpy); the Aggregator rebuilds a cell per add. Same aggregates, bit for bit,
    # whatever the order of the adds; and the batch-built aggregator goes on incrementally like the other.
    shuffled = data.draw(st.permutations(offers))
    one_by_one = Aggregator(params)
    for offer in shuffled:
        one_by_one.add(offer)
    batch = aggregate_all(offers, params)
    assert batch.aggregates() == one_by_one.aggregates()
    assert batch.singles() == one_by_one.singles()
    gone = data.draw(st.sampled_from(offers))
    batch.remove(gone.id)
    one_by_one.remove(gone.id)
    assert batch.aggregates() == one_by_one.aggregates()


def test_duplicate_ids_in_a_batch_are_refused() -> None:
    with pytest.raises(ValueError, match="a: already"):
        aggregate_all([_offer("a", 0, 0, (1, 0, 1)), _offer("a", 1, 0, (1, 0, 1))], AggregationParameters(ORIGIN))


def _with_default(offer: FlexOffer, shift: int) -> FlexOffer:
    amounts = tuple(ScheduleSlice(s.min_duration, s.energy_constraints[0].upper) for s in offer.profile)
    return replace(offer, default_schedule=Schedule(offer.start_after_time + shift * STEP, amounts))


def test_baseline_alignment_places_members_on_their_baselines() -> None:
    # a may start 0..4 after its EST and plans +1; b may start 0..2 and plans +2. Aligned on baselines, a common
    # shift d of both from their baselines must keep each in its window: d in [max(-1, -2), min(3, 0)] = [-1, 0].
    a = _with_default(_offer("a", 0, 4, (1, 0.0, 1.0)), 1)
    b = _with_default(_offer("b", 0, 2, (2, 0.0, 2.0)), 2)
    params = AggregationParameters(ORIGIN, alignment=Alignment.BASELINE, est_tolerance=4, tf_tolerance=4)
    agg = aggregate([a, b], params)
    assert agg.offsets == (0, 1)
    assert agg.offer.start_after_time == FOUR  # a's baseline (FOUR + 1) shifted by -1
    assert time_flexibility(agg.offer) == 1
    assert time_flexibility_loss(agg) == 4 + 2 - 1
    # The aggregate's baseline is the members' baselines added up per interval, at a's baseline start.
    default = agg.offer.default_schedule
    assert default is not None
    assert default.start_time == FOUR + STEP
    assert [s.energy_amount for s in default.slices] == [1.0, 1.0, 1.0]
    # Start alignment of the same offers: both at their EST, no baseline.
    started = aggregate([a, b], replace(params, alignment=Alignment.START))
    assert started.offsets == (0, 0)
    assert time_flexibility(started.offer) == 2
    assert started.offer.default_schedule is None


def test_baseline_alignment_groups_on_the_baseline_not_on_the_est() -> None:
    # Same EST, baselines 8 intervals apart: start alignment groups them, baseline alignment does not.
    a = _with_default(_offer("a", 0, 8, (1, 0.0, 1.0)), 0)
    b = _with_default(_offer("b", 0, 8, (1, 0.0, 1.0)), 8)
    start = AggregationParameters(ORIGIN, est_tolerance=4)
    assert len(aggregate_all([a, b], start).aggregates()) == 1
    assert len(aggregate_all([a, b], replace(start, alignment=Alignment.BASELINE)).aggregates()) == 2


def test_a_baseline_outside_the_window_anchors_on_the_est() -> None:
    a = _with_default(_offer("a", 0, 2, (1, 0.0, 1.0)), 5)
    agg = aggregate([a], AggregationParameters(ORIGIN, alignment=Alignment.BASELINE))
    assert agg.offer.start_after_time == a.start_after_time
    assert time_flexibility(agg.offer) == 2
