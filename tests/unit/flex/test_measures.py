"""Flexibility measures: hand-computed values on the reference offer and small cases, plus invariants."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex import EnergyConstraint, FlexOffer, ProfileSlice, loads
from goflex.flex.measures import (
    UndefinedMeasure,
    absolute_area_flexibility,
    assignment_flexibility,
    compression_ratio,
    covered_area,
    effective_energy_flexibility_kwh,
    energy_flexibility_kwh,
    minimum_area,
    product_flexibility,
    relative_area_flexibility,
    time_flexibility_intervals,
    time_flexibility_loss,
    time_flexibility_s,
    total_energy_range_kwh,
    vector_flexibility,
    vector_flexibility_norm,
)

from .test_model_json import REFERENCE_EXAMPLE, valid_offers

(OFFER,) = loads(REFERENCE_EXAMPLE)


def _offer(bounds: list[tuple[float, float]], tf: int, tec: tuple[float, float] | None = None, d: int = 1) -> FlexOffer:
    profile = tuple(ProfileSlice(d, d, (EnergyConstraint(lo, hi),)) for lo, hi in bounds)
    return replace(
        OFFER,
        profile=profile,
        start_before_time=OFFER.start_after_time + timedelta(seconds=900 * tf),
        total_energy_constraint=None if tec is None else EnergyConstraint(*tec),
    )


# --- the reference offer: EST 09:00, LST 13:00, slices [0, 1.5] and [0.5, 1.5] of 2 intervals, TEC [3, 5] ---


def test_reference_time_energy_product_and_vector() -> None:
    assert time_flexibility_intervals(OFFER) == 16  # 4 h / 15 min
    assert time_flexibility_s(OFFER) == 14_400
    assert energy_flexibility_kwh(OFFER) == pytest.approx(2.5)  # 1.5 + 1.0
    assert product_flexibility(OFFER) == pytest.approx(40.0)
    assert vector_flexibility(OFFER) == pytest.approx((16, 2.5))
    assert vector_flexibility_norm(OFFER) == pytest.approx(math.sqrt(256 + 6.25))


def test_reference_tec_leaves_a_single_total() -> None:
    # Slice sums [0.5, 3.0] meet TEC [3, 5] in {3.0}: both slices must be at 1.5.
    assert total_energy_range_kwh(OFFER) == pytest.approx((3.0, 3.0))
    assert effective_energy_flexibility_kwh(OFFER) == pytest.approx(0.0)


def test_reference_assignments_are_the_starts_only() -> None:
    # One amount vector (1.5, 1.5) on a 0.5 kWh grid, 17 starts (EST + 0..16 intervals).
    assert assignment_flexibility(OFFER, 0.5) == 17


def test_reference_areas() -> None:
    # Every schedule is 0.75 kWh in each of its 4 intervals; 16 + 4 intervals are reachable.
    assert covered_area(OFFER) == pytest.approx(15.0)
    # Closest to zero (0, 0.5) totals 0.5; 2.5 kWh more to reach the TEC.
    assert minimum_area(OFFER) == pytest.approx(3.0)
    assert absolute_area_flexibility(OFFER) == pytest.approx(12.0)
    assert relative_area_flexibility(OFFER) == pytest.approx(4.0)


# --- small cases ----------------------------------------------------------------------------------------


def test_assignment_count_without_tec_is_a_product() -> None:
    # Grid from each lower bound: [0, 1] -> 3 amounts at 0.5, [1, 2.2] -> 1, 1.5, 2.0 -> 3; tf 2 -> 3 starts.
    assert assignment_flexibility(_offer([(0.0, 1.0), (1.0, 2.2)], tf=2), 0.5) == 3 * 3 * 3


def test_assignment_count_with_tec_matches_brute_force() -> None:
    offer = _offer([(0.0, 3.0), (1.0, 2.0), (0.0, 2.0)], tf=1, tec=(2.0, 4.0))
    amounts = [[lo + k for k in range(int(hi - lo) + 1)] for lo, hi in [(0, 3), (1, 2), (0, 2)]]
    combos = sum(1 for v in itertools.product(*amounts) if 2 <= sum(v) <= 4)
    assert combos == 14  # b=1: a+c in [1,3] -> 2+3+3; b=2: a+c in [0,2] -> 1+2+3
    assert assignment_flexibility(offer, 1.0) == 2 * combos


def test_assignment_count_can_be_zero_when_the_tec_is_between_grid_totals() -> None:
    assert assignment_flexibility(_offer([(0.0, 1.0)], tf=0, tec=(0.4, 0.6)), 1.0) == 0


@pytest.mark.parametrize("step", [0.0, -1.0, math.nan, math.inf])
def test_assignment_step_must_be_positive_and_finite(step: float) -> None:
    with pytest.raises(UndefinedMeasure):
        assignment_flexibility(OFFER, step)


def test_assignment_refuses_too_many_steps() -> None:
    with pytest.raises(UndefinedMeasure, match="max_steps"):
        assignment_flexibility(_offer([(0.0, 10.0)], tf=0), 0.001, max_steps=1000)


def test_area_of_a_shiftable_block() -> None:
    # One slice of 2 intervals, [1, 2] kWh -> 0.5..1 kWh per interval, tf 1 -> 3 intervals reachable at 1 kWh.
    offer = _offer([(1.0, 2.0)], tf=1, d=2)
    assert covered_area(offer) == pytest.approx(3.0)
    assert minimum_area(offer) == pytest.approx(1.0)
    assert absolute_area_flexibility(offer) == pytest.approx(2.0)
    assert relative_area_flexibility(offer) == pytest.approx(2.0)


def test_a_rigid_offer_has_no_flexibility() -> None:
    offer = _offer([(1.0, 1.0), (2.0, 2.0)], tf=0)
    assert product_flexibility(offer) == 0.0
    assert assignment_flexibility(offer, 0.1) == 1
    assert absolute_area_flexibility(offer) == pytest.approx(0.0)


def test_production_counts_below_zero() -> None:
    # A production slice [-2, -1]: area between 0 and -2 when reachable, minimum |-1|.
    offer = _offer([(-2.0, -1.0)], tf=1)
    assert covered_area(offer) == pytest.approx(4.0)
    assert minimum_area(offer) == pytest.approx(1.0)


def test_area_measures_need_fixed_durations_and_a_nonzero_reference() -> None:
    variable = replace(OFFER, profile=(replace(OFFER.profile[0], max_duration=3), OFFER.profile[1]))
    with pytest.raises(UndefinedMeasure, match="fixed slice durations"):
        covered_area(variable)
    with pytest.raises(UndefinedMeasure, match="minimum area"):
        relative_area_flexibility(_offer([(0.0, 1.0)], tf=1))


def test_set_level_helpers() -> None:
    members = [_offer([(0.0, 1.0)], tf=4), _offer([(0.0, 1.0)], tf=6)]
    assert time_flexibility_loss(members, aggregate_tf=4) == 6
    assert compression_ratio(30, 4) == pytest.approx(7.5)
    with pytest.raises(ValueError, match="n_aggregates"):
        compression_ratio(3, 0)


# --- invariants -----------------------------------------------------------------------------------------


def _fixed(offer: FlexOffer) -> FlexOffer:
    return replace(offer, profile=tuple(replace(s, max_duration=s.min_duration) for s in offer.profile))


@settings(max_examples=100, deadline=None)
@given(valid_offers())
def test_measures_are_non_negative(offer: FlexOffer) -> None:
    assert time_flexibility_intervals(offer) >= 0
    assert energy_flexibility_kwh(offer) >= 0
    assert effective_energy_flexibility_kwh(offer) >= 0
    assert product_flexibility(offer) >= 0
    assert vector_flexibility_norm(offer) >= 0
    fixed = _fixed(offer)
    assert minimum_area(fixed) >= 0
    assert absolute_area_flexibility(fixed) >= 0


@settings(max_examples=100, deadline=None)
@given(valid_offers(), st.integers(-(10**6), 10**6))
def test_time_flexibility_is_unchanged_by_shifting(offer: FlexOffer, shift_s: int) -> None:
    shift = timedelta(seconds=shift_s)
    moved = replace(
        offer, start_after_time=offer.start_after_time + shift, start_before_time=offer.start_before_time + shift
    )
    assert time_flexibility_intervals(moved) == time_flexibility_intervals(offer)
    assert time_flexibility_s(moved) == time_flexibility_s(offer)


@settings(max_examples=100, deadline=None)
@given(valid_offers(), st.integers(0, 5))
def test_energy_flexibility_is_additive_over_slices(offer: FlexOffer, cut: int) -> None:
    cut = min(cut, len(offer.profile))
    head = replace(offer, profile=offer.profile[:cut], total_energy_constraint=None)
    tail = replace(offer, profile=offer.profile[cut:], total_energy_constraint=None)
    assert energy_flexibility_kwh(head) + energy_flexibility_kwh(tail) == pytest.approx(energy_flexibility_kwh(offer))


_grid_bounds = st.lists(st.tuples(st.integers(-5, 5), st.integers(0, 4)), min_size=1, max_size=5)


@settings(max_examples=100, deadline=None)
@given(_grid_bounds, st.integers(0, 8), st.booleans(), st.data())
def test_assignment_count_is_at_least_one_for_a_valid_offer(
    grid: list[tuple[int, int]], tf: int, with_tec: bool, data: st.DataObject
) -> None:
    # Amounts in quarter kWh; a TEC on the grid that meets the slice sums keeps at least one assignment.
    bounds = [(lo / 4, (lo + width) / 4) for lo, width in grid]
    tec = None
    if with_tec:
        low, high = sum(lo for lo, _ in grid), sum(lo + w for lo, w in grid)
        inside = data.draw(st.integers(low, high))
        tec = ((inside - data.draw(st.integers(0, 3))) / 4, (inside + data.draw(st.integers(0, 3))) / 4)
    offer = _offer(bounds, tf=tf, tec=tec)
    count = assignment_flexibility(offer, 0.25)
    assert count >= 1
    assert count % (tf + 1) == 0


@settings(max_examples=100, deadline=None)
@given(_grid_bounds, st.integers(-8, 8), st.integers(0, 6))
def test_assignment_count_matches_brute_force(grid: list[tuple[int, int]], tec_low: int, tec_width: int) -> None:
    bounds = [(float(lo), float(lo + width)) for lo, width in grid]
    offer = _offer(bounds, tf=0, tec=(float(tec_low), float(tec_low + tec_width)))
    amounts = [range(lo, lo + width + 1) for lo, width in grid]
    expected = sum(1 for v in itertools.product(*amounts) if tec_low <= sum(v) <= tec_low + tec_width)
    assert assignment_flexibility(offer, 1.0) == expected
