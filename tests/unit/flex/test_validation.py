"""FlexOffer and schedule rules: each rule fails where broken and passes at its boundary."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings

from goflex.flex import (
    EnergyConstraint,
    FlexOffer,
    InvalidFlexOffer,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
    loads,
    require_valid,
    validate_offer,
    validate_schedule,
)
from goflex.flex.validation import Problem

from .test_model_json import REFERENCE_EXAMPLE, valid_offers

(OFFER,) = loads(REFERENCE_EXAMPLE)
EST = OFFER.start_after_time
LST = OFFER.start_before_time
PROFILE = "flexOfferProfileConstraints"
# A valid assignment of the reference offer: total 3.0 kWh, the TEC's lower end.
GOOD = Schedule(EST + timedelta(minutes=45), (ScheduleSlice(2, 1.5, 0.06), ScheduleSlice(2, 1.5)))


def _fields(problems: list[Problem]) -> list[str]:
    return [p.field for p in problems]


def _with_slice(index: int, **changes: object) -> FlexOffer:
    profile = list(OFFER.profile)
    profile[index] = replace(profile[index], **changes)  # type: ignore[arg-type]
    return replace(OFFER, profile=tuple(profile))


# --- offer rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "field"),
    [
        ("creation_time", "accept_before_time", "acceptBeforeTime"),
        ("accept_before_time", "assignment_before_time", "assignmentBeforeTime"),
        ("assignment_before_time", "start_after_time", "startAfterTime"),
        ("start_after_time", "start_before_time", "startBeforeTime"),
    ],
)
def test_deadlines_out_of_order_fail_and_equal_pass(earlier: str, later: str, field: str) -> None:
    t = getattr(OFFER, earlier)
    # Only the later field moves, so its own problem is checked (moving EST may also break the next link).
    equal = replace(OFFER, **{later: t})
    assert field not in _fields(validate_offer(equal))
    broken = replace(OFFER, **{later: t - timedelta(minutes=15)})
    assert field in _fields(validate_offer(broken))


def test_est_after_lst_is_named_on_lst() -> None:
    problems = validate_offer(replace(OFFER, start_before_time=EST - timedelta(hours=1)))
    assert Problem("startBeforeTime", "must not be before startAfterTime") in problems


def test_window_must_be_whole_intervals() -> None:
    assert _fields(validate_offer(replace(OFFER, start_before_time=LST + timedelta(minutes=7)))) == ["startBeforeTime"]
    assert validate_offer(replace(OFFER, start_before_time=LST + timedelta(minutes=15))) == []


def test_interval_length_and_unit() -> None:
    assert _fields(validate_offer(replace(OFFER, num_seconds_per_interval=0))) == ["numSecondsPerInterval"]
    assert _fields(validate_offer(replace(OFFER, unit="MWh"))) == ["unit"]
    assert validate_offer(replace(OFFER, unit="kWh")) == []


def test_an_offer_needs_a_slice() -> None:
    problems = validate_offer(replace(OFFER, profile=(), total_energy_constraint=None))
    assert problems == [Problem(PROFILE, "must hold at least one slice")]


def test_durations() -> None:
    assert _fields(validate_offer(_with_slice(0, min_duration=0))) == [f"{PROFILE}[0].minDuration"]
    assert _fields(validate_offer(_with_slice(0, min_duration=3))) == [f"{PROFILE}[0].maxDuration"]
    assert validate_offer(_with_slice(0, min_duration=1, max_duration=1)) == []


def test_lower_above_upper_names_the_constraint() -> None:
    broken = _with_slice(1, energy_constraints=(EnergyConstraint(1.6, 1.5),))
    assert Problem(f"{PROFILE}[1].energyConstraintList[0]", "lower must be <= upper") in validate_offer(broken)
    assert validate_offer(_with_slice(1, energy_constraints=(EnergyConstraint(1.5, 1.5),))) == []


def test_dependency_offers_with_several_constraints_are_not_supported_yet() -> None:
    two = (EnergyConstraint(0, 1), EnergyConstraint(0, 1))
    assert _fields(validate_offer(_with_slice(0, energy_constraints=two))) == [f"{PROFILE}[0].energyConstraintList"]


def test_tariff_bounds() -> None:
    assert _fields(validate_offer(_with_slice(0, tariff_constraint=TariffConstraint(0.1, -0.1)))) == [
        f"{PROFILE}[0].tariffConstraint"
    ]
    assert validate_offer(_with_slice(0, tariff_constraint=TariffConstraint(0.1, 0.1))) == []


@pytest.mark.parametrize(
    ("tec", "valid"),
    [
        (EnergyConstraint(5.0, 3.0), False),  # lower > upper
        (EnergyConstraint(3.01, 5.0), False),  # slices reach at most 1.5 + 1.5 = 3.0
        (EnergyConstraint(-1.0, 0.49), False),  # slices need at least 0.0 + 0.5
        (EnergyConstraint(3.0, 5.0), True),  # touches the top
        (EnergyConstraint(0.0, 0.5), True),  # touches the bottom
    ],
)
def test_total_energy_constraint_must_be_feasible(tec: EnergyConstraint, valid: bool) -> None:
    problems = validate_offer(replace(OFFER, total_energy_constraint=tec))
    assert _fields(problems) == ([] if valid else ["totalEnergyConstraint"])


def test_prefix_places_problems_in_a_document_and_require_valid_raises_the_first() -> None:
    problems = validate_offer(_with_slice(1, energy_constraints=(EnergyConstraint(2, 1),)), prefix="flexOffer[0]")
    assert problems[0].field == "flexOffer[0].flexOfferProfileConstraints[1].energyConstraintList[0]"
    with pytest.raises(InvalidFlexOffer) as caught:
        require_valid(problems)
    assert caught.value.field == problems[0].field
    assert caught.value.rule == "lower must be <= upper"
    require_valid([])


# --- schedule rules ---------------------------------------------------------------------------------------


def test_good_schedule_and_boundaries_pass() -> None:
    assert validate_schedule(OFFER, GOOD) == []
    assert validate_schedule(OFFER, replace(GOOD, start_time=EST)) == []
    assert validate_schedule(OFFER, replace(GOOD, start_time=LST)) == []


@pytest.mark.parametrize("start", [EST - timedelta(minutes=15), LST + timedelta(minutes=15)])
def test_start_outside_the_window_fails(start: datetime) -> None:
    assert _fields(validate_schedule(OFFER, replace(GOOD, start_time=start))) == ["flexOfferSchedule.startTime"]


def test_start_off_the_interval_grid_fails() -> None:
    problems = validate_schedule(OFFER, replace(GOOD, start_time=EST + timedelta(minutes=10)))
    assert problems == [Problem("flexOfferSchedule.startTime", "must be startAfterTime + a whole number of intervals")]


def test_one_slice_per_profile_slice() -> None:
    short = replace(GOOD, slices=GOOD.slices[:1])
    assert "flexOfferSchedule.scheduleSlices" in _fields(validate_schedule(OFFER, short))


def test_slice_duration_amount_and_tariff_bounds() -> None:
    slices = (ScheduleSlice(3, 2.6, 0.07), ScheduleSlice(2, 0.4))  # total 3.0 kWh: TEC holds
    problems = validate_schedule(OFFER, replace(GOOD, slices=slices, start_time=EST))
    assert _fields(problems) == [
        "flexOfferSchedule.scheduleSlices[0].duration",
        "flexOfferSchedule.scheduleSlices[0].energyAmount",
        "flexOfferSchedule.scheduleSlices[0].tariff",
        "flexOfferSchedule.scheduleSlices[1].energyAmount",
    ]


def test_total_must_lie_in_the_total_energy_constraint() -> None:
    # Each amount is in its slice's bounds but the total 2.5 kWh is below the TEC's 3.0 (the baseline's case).
    low = replace(GOOD, slices=(ScheduleSlice(2, 1.5), ScheduleSlice(2, 1.0)))
    assert validate_schedule(OFFER, low) == [
        Problem("flexOfferSchedule.scheduleSlices", "total energyAmount must lie in totalEnergyConstraint")
    ]
    assert validate_schedule(replace(OFFER, total_energy_constraint=None), low) == []


def _lowest_schedule_at_est(offer: FlexOffer) -> Schedule:
    """Start at EST, shortest slices, lower bounds raised greedily just enough to reach the TEC's lower end."""
    amounts = [s.energy_constraints[0].lower for s in offer.profile]
    tec = offer.total_energy_constraint
    if tec is not None:
        missing = tec.lower - sum(amounts)
        for i, s in enumerate(offer.profile):
            if missing <= 0:
                break
            raise_by = min(missing, s.energy_constraints[0].upper - amounts[i])
            amounts[i] = min(s.energy_constraints[0].upper, amounts[i] + raise_by)  # float sums may overshoot
            missing -= raise_by
    slices = tuple(ScheduleSlice(s.min_duration, a) for s, a in zip(offer.profile, amounts, strict=True))
    return Schedule(offer.start_after_time, slices)


@settings(max_examples=150, deadline=None)
@given(valid_offers())
def test_schedule_at_est_with_lower_bounds_respecting_the_tec_is_valid(offer: FlexOffer) -> None:
    assert validate_schedule(offer, _lowest_schedule_at_est(offer)) == []


def test_lowest_schedule_of_the_reference_reaches_the_tec() -> None:
    schedule = _lowest_schedule_at_est(OFFER)
    assert [s.energy_amount for s in schedule.slices] == [1.5, 1.5]
    assert validate_schedule(OFFER, schedule) == []
