"""Disaggregation: every valid aggregate schedule splits into valid member schedules that add up."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex import EnergyConstraint, FlexOffer, FlexOfferError, Schedule, ScheduleSlice, validate_schedule
from goflex.flex.aggregation import (
    Aggregate,
    AggregationParameters,
    Alignment,
    TecPolicy,
    aggregate,
    aggregate_all,
    binding_total,
)
from goflex.flex.disaggregation import (
    Disaggregation,
    InvalidAggregateSchedule,
    NoValidDisaggregation,
    disaggregate,
    disaggregate_many,
)

from .flex_strategies import ORIGIN, STEP, aggregate_schedules, offer_sets
from .flex_strategies import fixed_offer as _offer

PARAMS = AggregationParameters(ORIGIN, est_tolerance=4, tf_tolerance=4, max_members=4)


def _per_interval(agg: Aggregate, result: Disaggregation) -> list[float]:
    """Add the members' per-interval amounts onto the aggregate's intervals."""
    total = [0.0] * len(agg.offer.profile)
    for member, offset in zip(agg.members, agg.offsets, strict=True):
        for k, amount in enumerate(result.interval_amounts[member.id], start=offset):
            total[k] += amount
    return total


def _flat(agg: Aggregate, amounts: list[float], shift: int = 0) -> Schedule:
    return Schedule(agg.offer.start_after_time + shift * STEP, tuple(ScheduleSlice(1, a) for a in amounts))


def test_members_start_with_the_aggregate_and_share_by_fraction() -> None:
    a = _offer("a", 0, 3, (1, 0.0, 2.0))
    b = _offer("b", 1, 2, (2, 0.0, 2.0))
    agg = aggregate([a, b], PARAMS)
    # Intervals: [0,2] (a), [0,1] (b), [0,1] (b); x = 1, 0.5, 1 -> a half full, b 0.5 + 1.
    result = disaggregate(agg, _flat(agg, [1.0, 0.5, 1.0], shift=2))
    assert result.schedules["a"] == Schedule(a.start_after_time + 2 * STEP, (ScheduleSlice(1, 1.0),))
    assert result.schedules["b"] == Schedule(b.start_after_time + 2 * STEP, (ScheduleSlice(2, 1.5),))


def test_total_energy_constraints_are_repaired_exactly() -> None:
    # Plain summed TECs: a (two intervals, tightened to [1, 2] each) must total exactly 3. x = (2, 1) leaves a
    # only 1 in interval 1, so a needs 2 in interval 0, where proportional fill gives it 1 + 1/3: the LP repairs.
    a = replace(_offer("a", 0, 0, (1, 0.0, 2.0), (1, 0.0, 2.0)), total_energy_constraint=EnergyConstraint(3.0, 3.0))
    b = _offer("b", 0, 0, (1, 0.0, 2.0))
    agg = aggregate([a, b], replace(PARAMS, tec_policy=TecPolicy.SUM))
    batch = disaggregate_many([(agg, _flat(agg, [2.0, 1.0]))])
    assert batch.repaired == 1
    result = batch.disaggregation(0)
    assert validate_schedule(a, result.schedules["a"]) == []
    assert [s.energy_amount for s in result.schedules["a"].slices] == pytest.approx([2.0, 1.0])
    assert _per_interval(agg, result) == pytest.approx([2.0, 1.0])
    # Inside the members' inner boxes (a: 1.5 per interval) no LP is needed.
    assert disaggregate_many([(agg, _flat(agg, [2.5, 1.5]))]).repaired == 0


def test_an_invalid_aggregate_schedule_is_refused() -> None:
    agg = aggregate([_offer("a", 0, 1, (1, 0.0, 1.0))], PARAMS)
    with pytest.raises(InvalidAggregateSchedule, match="energyAmount") as caught:
        disaggregate(agg, _flat(agg, [1.5]))
    assert isinstance(caught.value, FlexOfferError)
    with pytest.raises(InvalidAggregateSchedule, match="startTime"):
        disaggregate(agg, _flat(agg, [0.5], shift=2))


def test_an_unsplittable_schedule_raises_no_valid_disaggregation() -> None:
    # Summing TECs forgets which intervals a TEC spans (found by Hypothesis): b must net 0 kWh over intervals
    # 1-2, a (interval 0, no TEC) can absorb the aggregate TEC slack, but not in intervals 1-2.
    a = _offer("a", 0, 0, (1, -0.25, 0.25))
    b = replace(
        _offer("b", 0, 0, (1, 0.0, 0.0), (1, -0.25, 0.0), (1, 0.0, 0.25)),
        total_energy_constraint=EnergyConstraint(0.0, 0.0),
    )
    assert binding_total(b)
    assert not binding_total(replace(b, total_energy_constraint=EnergyConstraint(-0.25, 0.25)))
    agg = aggregate([a, b], replace(PARAMS, tec_policy=TecPolicy.SUM))
    schedule = _flat(agg, [-0.125, -0.1875, 0.0625])
    assert validate_schedule(agg.offer, schedule) == []
    with pytest.raises(NoValidDisaggregation) as caught:
        disaggregate(agg, schedule)
    assert isinstance(caught.value, FlexOfferError)
    # The same aggregate with b netting 0 over intervals 1-2 splits fine.
    result = disaggregate(agg, _flat(agg, [-0.125, -0.1875, 0.1875]))
    assert sum(s.energy_amount for s in result.schedules["b"].slices) == pytest.approx(0.0)
    # The default (box) policy: b takes part through its inner box, where every assignment nets 0 kWh; the
    # aggregate no longer offers the unsplittable schedule.
    boxed = aggregate([a, b], PARAMS)
    assert [s.energy_constraints[0] for s in boxed.offer.profile] == [
        EnergyConstraint(-0.25, 0.25),
        EnergyConstraint(-0.125, -0.125),
        EnergyConstraint(0.125, 0.125),
    ]
    assert validate_schedule(boxed.offer, _flat(boxed, [-0.125, -0.125, 0.125])) == []
    _check(boxed, _flat(boxed, [0.25, -0.125, 0.125]))


def _check(agg: Aggregate, schedule: Schedule) -> None:
    result = disaggregate(agg, schedule)
    assert sorted(result.schedules) == sorted(agg.member_ids)
    for member, offset in zip(agg.members, agg.offsets, strict=True):
        member_schedule = result.schedules[member.id]
        assert validate_schedule(member, member_schedule) == [], member
        # Start alignment: EST(f) + (s_a - EST(a)); both alignments: s_a + offset.
        assert member_schedule.start_time == schedule.start_time + offset * STEP
        # Each slice amount is the sum of the member's amounts over the slice's intervals.
        values, k = result.interval_amounts[member.id], 0
        for item in member_schedule.slices:
            assert item.energy_amount == pytest.approx(sum(values[k : k + item.duration]), abs=1e-7)
            k += item.duration
    amounts = [s.energy_amount for s in schedule.slices]
    assert _per_interval(agg, result) == pytest.approx(amounts, abs=1e-7)


_params = st.builds(
    AggregationParameters,
    origin=st.just(ORIGIN),
    est_tolerance=st.integers(0, 6),
    tf_tolerance=st.integers(0, 6),
    max_members=st.integers(1, 5),
    alignment=st.sampled_from(Alignment),
)


@settings(max_examples=300, deadline=None)
@given(offers=offer_sets(), params=_params, data=st.data())
def test_with_the_default_tec_policy_any_schedule_of_any_aggregate_splits_into_valid_member_schedules(
    offers: list[FlexOffer], params: AggregationParameters, data: st.DataObject
) -> None:
    # The property, with TECs, start or baseline alignment and the default TEC policy (box).
    assert params.tec_policy is TecPolicy.BOX
    for agg in aggregate_all(offers, params).aggregates():
        _check(agg, data.draw(aggregate_schedules(agg.offer)))


@settings(max_examples=150, deadline=None)
@given(offers=offer_sets(with_tec=False), data=st.data())
def test_any_schedule_of_an_aggregate_without_tecs_splits_into_valid_member_schedules(
    offers: list[FlexOffer], data: st.DataObject
) -> None:
    for agg in aggregate_all(offers, PARAMS).aggregates():
        _check(agg, data.draw(aggregate_schedules(agg.offer)))


@settings(max_examples=100, deadline=None)
@given(offers=offer_sets(), data=st.data())
def test_with_binding_tecs_kept_single_any_schedule_splits_into_valid_member_schedules(
    offers: list[FlexOffer], data: st.DataObject
) -> None:
    aggregator = aggregate_all(offers, replace(PARAMS, tec_policy=TecPolicy.SINGLE))
    assert all(binding_total(o) for o in aggregator.singles())
    assert aggregator.aggregates() == aggregate_all(offers, replace(PARAMS, single_binding_tec=True)).aggregates()
    for agg in aggregator.aggregates():
        _check(agg, data.draw(aggregate_schedules(agg.offer)))


@settings(max_examples=150, deadline=None)
@given(offers=offer_sets(), data=st.data())
def test_plain_summed_tecs_split_validly_or_raise_no_valid_disaggregation(
    offers: list[FlexOffer], data: st.DataObject
) -> None:
    # Summed TECs do not guarantee a split (see the test above); whatever is returned must still be valid.
    for agg in aggregate_all(offers, replace(PARAMS, tec_policy=TecPolicy.SUM)).aggregates():
        try:
            _check(agg, data.draw(aggregate_schedules(agg.offer)))
        except NoValidDisaggregation:
            assert any(binding_total(m) for m in agg.members)


@settings(max_examples=60, deadline=None)
@given(offers=offer_sets(), params=_params, data=st.data())
def test_many_aggregates_at_once_split_exactly_as_one_by_one(
    offers: list[FlexOffer], params: AggregationParameters, data: st.DataObject
) -> None:
    items = [(agg, data.draw(aggregate_schedules(agg.offer))) for agg in aggregate_all(offers, params).aggregates()]
    together = disaggregate_many(items)
    # Aggregates read from a file carry no columns: their members are read again, with the same result.
    cold = disaggregate_many([(replace(agg, columns=None), schedule) for agg, schedule in items])
    for index, (agg, schedule) in enumerate(items):
        assert together.disaggregation(index) == disaggregate(agg, schedule) == cold.disaggregation(index)
    assert together.schedules() == {k: v for a, s in items for k, v in disaggregate(a, s).schedules.items()}
