"""The FlexOffer User Group JSON codec: the reference example, errors with field paths, generated round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.common.errors import GoflexError
from goflex.flex import (
    EnergyConstraint,
    FlexOffer,
    FlexOfferError,
    FlexOfferState,
    InvalidFlexOffer,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
    dump_document,
    dump_offer,
    dumps,
    loads,
    parse_document,
    parse_offer,
    validate_offer,
)

# The example of /work/shared/reference/flexoffer.md section 1, verbatim.
REFERENCE_EXAMPLE = """
{"flexOffer": [{"id": "fo-1", "state": "offered", "offeredById": "goflex-dc-004",
  "creationTime": "2026-01-22T05:00:00Z", "acceptBeforeTime": "2026-01-22T07:45:00Z",
  "assignmentBeforeTime": "2026-01-22T08:45:00Z",
  "startAfterTime": "2026-01-22T09:00:00Z", "startBeforeTime": "2026-01-22T13:00:00Z",
  "numSecondsPerInterval": 900,
  "flexOfferProfileConstraints": [
    {"minDuration": 2, "maxDuration": 2, "energyConstraintList": [{"lower": 0.0, "upper": 1.5}],
     "tariffConstraint": {"minTariff": -0.06, "maxTariff": 0.06}},
    {"minDuration": 2, "maxDuration": 2, "energyConstraintList": [{"lower": 0.5, "upper": 1.5}]}],
  "totalEnergyConstraint": {"lower": 3.0, "upper": 5.0},
  "defaultSchedule": {"startTime": "2026-01-22T09:00:00Z",
    "scheduleSlices": [{"duration": 2, "energyAmount": 1.5}, {"duration": 2, "energyAmount": 1.0}]}}]}
"""


def test_reference_example_parses_to_the_expected_values() -> None:
    (offer,) = loads(REFERENCE_EXAMPLE)
    assert offer.id == "fo-1"
    assert offer.state is FlexOfferState.OFFERED
    assert offer.start_after_time == datetime(2026, 1, 22, 9, tzinfo=UTC)
    assert offer.start_before_time - offer.start_after_time == timedelta(hours=4)
    assert offer.profile[0].tariff_constraint == TariffConstraint(-0.06, 0.06)
    assert offer.profile[1].tariff_constraint is None
    assert offer.profile[1].energy_constraints == (EnergyConstraint(0.5, 1.5),)
    assert offer.total_energy_constraint == EnergyConstraint(3.0, 5.0)
    assert offer.default_schedule is not None
    assert offer.default_schedule.slices[1] == ScheduleSlice(duration=2, energy_amount=1.0)
    assert offer.schedule is None
    assert offer.location_id is None
    assert offer.num_seconds_per_interval == 900


def test_reference_example_round_trips_exactly() -> None:
    source = json.loads(REFERENCE_EXAMPLE)
    offers = parse_document(source)
    assert dump_document(offers) == source
    assert loads(dumps(offers)) == offers
    assert json.loads(dumps(offers)) == source


def test_reference_example_is_a_valid_offer() -> None:
    (offer,) = loads(REFERENCE_EXAMPLE)
    assert validate_offer(offer) == []


def test_a_single_offer_object_is_read_as_one_offer() -> None:
    single = json.loads(REFERENCE_EXAMPLE)["flexOffer"][0]
    (offer,) = parse_document(single)
    assert dump_offer(offer) == single


def _example() -> dict[str, Any]:
    return dict(json.loads(REFERENCE_EXAMPLE))


def test_errors_belong_to_the_goflex_tree() -> None:
    assert issubclass(InvalidFlexOffer, FlexOfferError)
    assert issubclass(FlexOfferError, GoflexError)


@pytest.mark.parametrize(
    ("mutate", "field", "rule"),
    [
        (
            lambda d: d["flexOffer"][0]["flexOfferProfileConstraints"][1]["energyConstraintList"][0].pop("upper"),
            "flexOffer[0].flexOfferProfileConstraints[1].energyConstraintList[0].upper",
            "required field missing",
        ),
        (
            lambda d: d["flexOffer"][0].__setitem__("startAfterTime", "2026-01-22T09:00:00"),
            "flexOffer[0].startAfterTime",
            "must carry a UTC offset (e.g. 'Z')",
        ),
        (
            lambda d: d["flexOffer"][0].__setitem__("state", "pending"),
            "flexOffer[0].state",
            "unknown state 'pending'",
        ),
        (
            lambda d: d["flexOffer"][0]["flexOfferProfileConstraints"][0].__setitem__("minDuration", 2.0),
            "flexOffer[0].flexOfferProfileConstraints[0].minDuration",
            "must be an integer",
        ),
        (
            lambda d: d["flexOffer"][0]["defaultSchedule"]["scheduleSlices"][0].__setitem__("energyAmount", "1"),
            "flexOffer[0].defaultSchedule.scheduleSlices[0].energyAmount",
            "must be a number",
        ),
        (
            lambda d: d["flexOffer"][0].__setitem__("colour", "red"),
            "flexOffer[0].colour",
            "unknown field",
        ),
    ],
)
def test_malformed_offers_name_the_field_and_rule(mutate: Any, field: str, rule: str) -> None:
    doc = json.loads(REFERENCE_EXAMPLE)
    mutate(doc)
    with pytest.raises(InvalidFlexOffer) as caught:
        parse_document(doc)
    assert caught.value.field == field
    assert caught.value.rule == rule


def test_nan_bounds_are_rejected() -> None:
    text = REFERENCE_EXAMPLE.replace('"upper": 5.0', '"upper": NaN')
    with pytest.raises(InvalidFlexOffer) as caught:
        loads(text)
    assert caught.value.field == "flexOffer[0].totalEnergyConstraint.upper"
    assert caught.value.rule == "must be finite"


def test_non_json_text_is_an_invalid_offer() -> None:
    with pytest.raises(InvalidFlexOffer) as caught:
        loads("{not json")
    assert caught.value.field == "<root>"


def test_times_with_another_offset_are_read_as_utc_and_written_with_z() -> None:
    single = json.loads(REFERENCE_EXAMPLE)["flexOffer"][0]
    single["creationTime"] = "2026-01-22T06:00:00+01:00"
    offer = parse_offer(single)
    assert offer.creation_time == datetime(2026, 1, 22, 5, tzinfo=UTC)
    assert offer.creation_time.utcoffset() == timedelta(0)
    assert dump_offer(offer)["creationTime"] == "2026-01-22T05:00:00Z"


# --- generated valid offers -------------------------------------------------------------------------------

BASE = datetime(2026, 1, 1, tzinfo=UTC)
_energy = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)


@st.composite
def valid_offers(draw: st.DrawFn) -> FlexOffer:
    """Offers that satisfy every rule of goflex.flex.validation."""
    interval = draw(st.sampled_from([60, 300, 900, 3600]))
    slices = []
    for _ in range(draw(st.integers(1, 5))):
        lo, hi = sorted((draw(_energy), draw(_energy)))
        min_d = draw(st.integers(1, 4))
        tariff = None
        if draw(st.booleans()):
            t_lo, t_hi = sorted((draw(_energy), draw(_energy)))
            tariff = TariffConstraint(t_lo, t_hi)
        slices.append(ProfileSlice(min_d, min_d + draw(st.integers(0, 3)), (EnergyConstraint(lo, hi),), tariff))
    low = sum(s.energy_constraints[0].lower for s in slices)
    high = sum(s.energy_constraints[0].upper for s in slices)
    tec = None
    if draw(st.booleans()):
        # A TEC that intersects [low, high]: one end inside the feasible range.
        inside = draw(st.floats(min_value=low, max_value=high))
        tec = EnergyConstraint(inside - draw(st.floats(0, 10)), inside + draw(st.floats(0, 10)))
    gaps = [timedelta(seconds=draw(st.integers(0, 86_400))) for _ in range(3)]
    creation = BASE + timedelta(seconds=draw(st.integers(0, 10**7)))
    accept = creation + gaps[0]
    assign = accept + gaps[1]
    est = assign + gaps[2]
    lst = est + timedelta(seconds=interval * draw(st.integers(0, 96)))
    return FlexOffer(
        id=draw(st.text(min_size=1, max_size=12)),
        state=draw(st.sampled_from(FlexOfferState)),
        offered_by_id=draw(st.text(max_size=12)),
        creation_time=creation,
        accept_before_time=accept,
        assignment_before_time=assign,
        start_after_time=est,
        start_before_time=lst,
        profile=tuple(slices),
        num_seconds_per_interval=interval,
        total_energy_constraint=tec,
        default_schedule=draw(st.none() | st.just(Schedule(est, tuple(ScheduleSlice(1, 0.0) for _ in slices)))),
        location_id=draw(st.none() | st.text(max_size=8)),
        unit=draw(st.sampled_from([None, "kWh"])),
    )


@settings(max_examples=150, deadline=None)
@given(valid_offers())
def test_generated_offers_round_trip_through_json_and_validate_clean(offer: FlexOffer) -> None:
    assert validate_offer(offer) == []
    (back,) = loads(dumps([offer]))
    assert back == offer
    assert dump_offer(back) == dump_offer(offer)
