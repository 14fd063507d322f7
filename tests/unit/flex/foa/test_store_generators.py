"""Battery, factory process, EV and wet-device offers: numbers by hand, and every schedule keeps the limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex.foa.battery import BatteryParameters, battery_offer, step_battery
from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.ev import ChargingSession, ev_offer
from goflex.flex.foa.fems import ThermalProcess, process_offer, step_process
from goflex.flex.foa.framing import OfferTiming
from goflex.flex.foa.wet import WetCycle, wet_offer
from goflex.flex.model import FlexOffer
from goflex.flex.validation import validate_offer

NOW = datetime(2026, 1, 22, 5, 7, tzinfo=UTC)
TIMING = OfferTiming(NOW)  # earliest start 05:45 (the slot boundary 30 min after now)
START = datetime(2026, 1, 22, 5, 45, tzinfo=UTC)


def bounds(offer: FlexOffer) -> list[tuple[float, float]]:
    return [(s.energy_constraints[0].lower, s.energy_constraints[0].upper) for s in offer.profile]


def baseline(offer: FlexOffer) -> list[float]:
    assert offer.default_schedule is not None
    return [s.energy_amount for s in offer.default_schedule.slices]


def test_the_deadlines_sit_before_the_earliest_start() -> None:
    offer = battery_offer(
        BatteryParameters(), 1.5, offer_id="b", offered_by_id="cdems-1", timing=TIMING, slots=2,
        price_down_eur_per_kwh=0.1, price_up_eur_per_kwh=0.05,
    )  # fmt: skip
    assert offer.start_after_time == offer.start_before_time == START
    assert offer.accept_before_time == START - timedelta(minutes=30)
    assert offer.assignment_before_time == START - timedelta(minutes=15)
    assert offer.creation_time == NOW
    tc = offer.profile[0].tariff_constraint
    assert tc is not None
    assert (tc.min_tariff, tc.max_tariff) == (-0.1, 0.05)


def test_battery_bounds_by_hand() -> None:
    # 3 kW for 15 min = 0.75 kWh per slot. Down: 1.5 - 0.3 = 1.2 kWh in the cells = 1.14 kWh at the meter
    # (x 0.95): 0.75 in the first slot, 0.39 in the second. Up: 2.85 - 1.5 = 1.35 kWh = 1.42105 kWh at the
    # meter (/ 0.95): 0.75 then 0.67105.
    offer = battery_offer(
        BatteryParameters(), 1.5, offer_id="b", offered_by_id="cdems-1", timing=TIMING, slots=2,
        price_down_eur_per_kwh=0.1, price_up_eur_per_kwh=0.05,
    )  # fmt: skip
    (lo1, hi1), (lo2, hi2) = bounds(offer)
    assert (lo1, hi1) == pytest.approx((-0.75, 0.75))
    assert (lo2, hi2) == pytest.approx((-0.39, 1.35 / 0.95 - 0.75))
    assert baseline(offer) == [0.0, 0.0]


def test_a_full_battery_offers_only_discharge() -> None:
    offer = battery_offer(
        BatteryParameters(), 2.85, offer_id="b", offered_by_id="c", timing=TIMING, slots=3,
        price_down_eur_per_kwh=0.1, price_up_eur_per_kwh=0.05,
    )  # fmt: skip
    assert all(hi == pytest.approx(0.0) for _, hi in bounds(offer))
    assert bounds(offer)[0][0] == pytest.approx(-0.75)


def test_a_battery_state_out_of_range_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidDeviceState, match="level_kwh"):
        battery_offer(
            BatteryParameters(), 2.95, offer_id="b", offered_by_id="c", timing=TIMING, slots=3,
            price_down_eur_per_kwh=0.1, price_up_eur_per_kwh=0.05,
        )  # fmt: skip
    with pytest.raises(InvalidDeviceState, match="eta_charge"):
        BatteryParameters(eta_charge=1.2)


@st.composite
def battery_cases(draw: st.DrawFn) -> tuple[BatteryParameters, float, int, list[float]]:
    capacity = draw(st.floats(0.5, 20.0))
    lo = draw(st.floats(0.0, 0.5)) * capacity
    hi = lo + draw(st.floats(0.0, 1.0)) * (capacity - lo)
    p = BatteryParameters(
        capacity_kwh=capacity,
        max_charge_w=draw(st.floats(0.0, 10_000.0)),
        max_discharge_w=draw(st.floats(0.0, 10_000.0)),
        eta_charge=draw(st.floats(0.5, 1.0)),
        eta_discharge=draw(st.floats(0.5, 1.0)),
        soc_min_kwh=lo,
        soc_max_kwh=hi,
    )
    soc = lo + draw(st.floats(0.0, 1.0)) * (hi - lo)
    slots = draw(st.integers(1, 12))
    return p, soc, slots, draw(st.lists(st.floats(0.0, 1.0), min_size=slots, max_size=slots))


@settings(max_examples=150, deadline=None)
@given(battery_cases())
def test_every_schedule_of_a_battery_offer_keeps_the_state_of_charge_in_range(
    case: tuple[BatteryParameters, float, int, list[float]],
) -> None:
    p, soc, slots, fractions = case
    offer = battery_offer(
        p, soc, offer_id="b", offered_by_id="c", timing=TIMING, slots=slots,
        price_down_eur_per_kwh=0.1, price_up_eur_per_kwh=0.05,
    )  # fmt: skip
    assert validate_offer(offer) == []
    # the extremes (all lowest, all highest) and an arbitrary mix, simulated slot by slot
    for pick in (lambda lo, hi, f: lo, lambda lo, hi, f: hi, lambda lo, hi, f: lo + f * (hi - lo)):
        level = soc
        for (lo, hi), f in zip(bounds(offer), fractions, strict=True):
            level = step_battery(p, level, pick(lo, hi, f))  # raises when a limit is broken


def test_process_bounds_by_hand() -> None:
    # 40 kW = 10 kWh per slot, COP 1, demand 4 kWh per slot: baseline 4 kWh. The store holds 12 kWh, at least
    # 10: 2 kWh may be left out in all (first slot), 28 kWh may be added (each slot up to the machine's 10 kWh).
    p = ThermalProcess(max_power_w=40_000.0, cop=1.0, level_min_kwh=10.0, level_max_kwh=40.0)
    offer = process_offer(
        p, 12.0, [4.0, 4.0], offer_id="f", offered_by_id="fems-08", timing=TIMING,
        price_down_eur_per_kwh=0.08, price_up_eur_per_kwh=0.02,
    )  # fmt: skip
    assert baseline(offer) == [4.0, 4.0]
    assert bounds(offer) == [pytest.approx((2.0, 10.0)), pytest.approx((4.0, 10.0))]


@settings(max_examples=100, deadline=None)
@given(
    st.floats(1_000.0, 200_000.0),
    st.floats(0.8, 4.0),
    st.floats(0.0, 1.0),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12),
    st.floats(0.0, 1.0),
)
def test_every_schedule_of_a_process_offer_keeps_the_store_in_range(
    power_w: float, cop: float, start_share: float, demand_share: list[float], f: float
) -> None:
    p = ThermalProcess(max_power_w=power_w, cop=cop, level_min_kwh=10.0, level_max_kwh=10.0 + power_w / 1000)
    demand = [d * p.slot_max_kwh * cop for d in demand_share]  # the machine can always follow the demand
    level0 = 10.0 + start_share * power_w / 1000
    offer = process_offer(
        p, level0, demand, offer_id="f", offered_by_id="fems", timing=TIMING,
        price_down_eur_per_kwh=0.08, price_up_eur_per_kwh=0.02,
    )  # fmt: skip
    for pick in (lambda lo, hi: lo, lambda lo, hi: hi, lambda lo, hi: lo + f * (hi - lo)):
        level = level0
        for (lo, hi), d in zip(bounds(offer), demand, strict=True):
            level = step_process(p, level, pick(lo, hi), d)


def test_ev_offer_by_hand() -> None:
    # 11 kW = 2.75 kWh per slot; 5 kWh by 06:45 = 4 slots from 05:45; baseline at full power from the start.
    session = ChargingSession(energy_kwh=5.0, departure=START + timedelta(hours=1), max_power_w=11_000.0)
    offer = ev_offer(
        session, offer_id="ev", offered_by_id="cems-1", timing=TIMING,
        price_down_eur_per_kwh=0.05, price_up_eur_per_kwh=0.05,
    )  # fmt: skip
    assert bounds(offer) == [(0.0, 2.75)] * 4
    assert baseline(offer) == [2.75, 2.25, 0.0, 0.0]
    tec = offer.total_energy_constraint
    assert tec is not None
    assert (tec.lower, tec.upper) == (5.0, 5.0)
    assert validate_offer(offer) == []


def test_an_ev_that_cannot_be_charged_in_time_is_refused() -> None:
    session = ChargingSession(energy_kwh=20.0, departure=START + timedelta(hours=1), max_power_w=11_000.0)
    with pytest.raises(InvalidDeviceState, match="energy_kwh"):
        ev_offer(
            session, offer_id="ev", offered_by_id="c", timing=TIMING,
            price_down_eur_per_kwh=0.05, price_up_eur_per_kwh=0.05,
        )  # fmt: skip


def test_wet_cycle_may_start_up_to_its_delay() -> None:
    offer = wet_offer(WetCycle([0.5, 1.0], max_delay_slots=3), offer_id="w", offered_by_id="hems-1", timing=TIMING)
    assert offer.start_after_time == START
    assert offer.start_before_time == START + timedelta(minutes=45)
    assert bounds(offer) == [(0.5, 0.5), (1.0, 1.0)]
    assert baseline(offer) == [0.5, 1.0]
    assert offer.profile[0].tariff_constraint is None


def test_one_price_without_the_other_is_refused() -> None:
    with pytest.raises(InvalidDeviceState, match="price"):
        battery_offer(
            BatteryParameters(), 1.5, offer_id="b", offered_by_id="c", timing=TIMING, slots=2,
            price_down_eur_per_kwh=-0.1, price_up_eur_per_kwh=0.05,
        )  # fmt: skip
