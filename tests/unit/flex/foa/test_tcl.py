"""Interruption offers of thermostatic loads: the choice by hand on a scripted forecast, limits, and the physics
property: every schedule of a water heater's offer, executed by the planner, keeps the water above its minimum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex.foa.execution import relay_plan
from goflex.flex.foa.framing import OfferTiming
from goflex.flex.foa.tcl import Interruption, InterruptionLimits, allowed, interruption_offer
from goflex.flex.foa.thermal import TankForecast, ThermalRun, expected_draw_l
from goflex.flex.model import Schedule, ScheduleSlice
from goflex.flex.validation import validate_offer
from goflex.twin.water_heater import TankParameters, TankState, step_tank

NOW = datetime(2026, 1, 22, 5, 7, tzinfo=UTC)
TIMING = OfferTiming(NOW)
FIRST = datetime(2026, 1, 22, 5, 45, tzinfo=UTC)
SLOT = timedelta(minutes=15)


@dataclass(frozen=True)
class ScriptedForecast:
    """A device whose physics is a table: baseline energy per slot; an open relay draws nothing and costs
    ``cooling_k`` of margin per open slot, recovered after it; the open energy comes back in the next slot."""

    baseline_kwh: Sequence[float]
    margin_k: float
    cooling_k: float

    def run(self, lead_s: float, relay_closed: Sequence[bool]) -> ThermalRun:
        energy, margin, owed, cooled = [], [], 0.0, 0.0
        for k, closed in enumerate(relay_closed):
            base = self.baseline_kwh[k] if k < len(self.baseline_kwh) else 0.0
            if closed:
                energy.append(base + owed)
                owed, cooled = 0.0, 0.0
            else:
                energy.append(0.0)
                owed += base
                cooled += self.cooling_k
            margin.append(self.margin_k - cooled)
        return ThermalRun(tuple(energy), tuple(margin))


LIMITS = InterruptionLimits(min_slots=1, max_slots=3, rebound_slots=1, search_slots=4, min_kwh=0.1)


def test_the_interruption_of_most_energy_is_offered_with_its_rebound() -> None:
    # baseline 0, 1, 1, 0.5, 0 ... kWh from 05:45; comfort allows 3 open slots (3 x 1 K < 3.5 K margin).
    forecast = ScriptedForecast([0.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0], margin_k=3.5, cooling_k=1.0)
    made = interruption_offer(
        forecast, LIMITS, [], offer_id="o", offered_by_id="goflex-dc-001", timing=TIMING, price_down_eur_per_kwh=0.06
    )
    assert made is not None
    offer = made.offer
    # 2.5 kWh from 06:00 over 3 slots beats every other candidate; the rebound slot takes the 2.5 kWh back.
    assert made.interruption == Interruption(FIRST + SLOT, FIRST + 4 * SLOT)
    assert offer.start_after_time == offer.start_before_time == FIRST + SLOT
    assert [(s.energy_constraints[0].lower, s.energy_constraints[0].upper) for s in offer.profile] == [
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 0.5),
        (0.0, 2.5),
    ]
    assert [s.tariff_constraint is not None for s in offer.profile] == [True, True, True, False]
    assert offer.default_schedule is not None
    assert [s.energy_amount for s in offer.default_schedule.slices] == [1.0, 1.0, 0.5, 0.0]
    assert validate_offer(offer) == []


def test_comfort_limits_the_length() -> None:
    # 1.5 K of margin at 1 K per open slot: only one slot may be interrupted; the 1 kWh slot at 06:00 wins.
    forecast = ScriptedForecast([0.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0], margin_k=1.5, cooling_k=1.0)
    made = interruption_offer(
        forecast, LIMITS, [], offer_id="o", offered_by_id="h", timing=TIMING, price_down_eur_per_kwh=0.06
    )
    assert made is not None
    assert made.interruption == Interruption(FIRST + SLOT, FIRST + 2 * SLOT)


def test_no_offer_without_comfort_or_without_energy() -> None:
    cold = ScriptedForecast([1.0] * 8, margin_k=0.5, cooling_k=1.0)
    idle = ScriptedForecast([0.0] * 8, margin_k=10.0, cooling_k=1.0)
    for forecast in (cold, idle):
        assert (
            interruption_offer(
                forecast, LIMITS, [], offer_id="o", offered_by_id="h", timing=TIMING, price_down_eur_per_kwh=0.06
            )
            is None
        )


def test_daily_limits_count_length_and_distance() -> None:
    limits = InterruptionLimits(max_slots=4, max_per_day=2, min_gap_slots=4)
    past = Interruption(FIRST - 2 * SLOT, FIRST - SLOT)  # ended 05:30
    assert not allowed(FIRST, 1, limits, [past])  # 1 slot after: closer than 4
    assert allowed(FIRST + 3 * SLOT, 1, limits, [past])  # 06:30 is 4 slots after 05:30
    assert not allowed(FIRST + 3 * SLOT, 5, limits, [past])  # longer than 4 slots
    morning = Interruption(FIRST - 20 * SLOT, FIRST - 19 * SLOT)
    assert not allowed(FIRST + 3 * SLOT, 1, limits, [past, morning])  # a third one the same day
    assert allowed(FIRST + 3 * SLOT, 1, limits, [past])


def test_a_real_tank_that_heats_gets_an_offer_unless_comfort_forbids() -> None:
    params = TankParameters()
    warm = TankForecast(params, TankState(54.5, heating=True), NOW, persons=3, comfort_min_c=45.0)
    made = interruption_offer(
        warm, InterruptionLimits(), [], offer_id="o", offered_by_id="h", timing=TIMING, price_down_eur_per_kwh=0.06
    )
    assert made is not None
    offer = made.offer
    assert offer.default_schedule is not None
    base = [s.energy_amount for s in offer.default_schedule.slices]
    cut = [s.energy_constraints[0].lower for s in offer.profile]
    n = sum(1 for s in offer.profile if s.tariff_constraint is not None)
    # interrupted slots draw nothing; the rebound slots may take at least what was interrupted back (the
    # thermostat's end state differs between the two runs, so the balance is not exact over the window)
    assert cut[:n] == [0.0] * n
    assert sum(base[:n]) > 0.1
    rebound = sum(s.energy_constraints[0].upper for s in offer.profile[n:]) - sum(base[n:])
    assert sum(base[:n]) * 0.9 <= rebound <= sum(base[:n]) * 1.5
    # a comfort minimum above the thermostat's cut-out (60 C): even the baseline breaks it, nothing to offer
    strict = TankForecast(params, TankState(54.5, heating=True), NOW, persons=3, comfort_min_c=60.5)
    assert (
        interruption_offer(
            strict,
            InterruptionLimits(),
            [],
            offer_id="o",
            offered_by_id="h",
            timing=TIMING,
            price_down_eur_per_kwh=0.06,
        )
        is None
    )


def simulate_min_temp_c(
    params: TankParameters,
    state: TankState,
    persons: int,
    plan: list[tuple[datetime, bool]],
    *,
    start: datetime,
    end: datetime,
) -> float:
    """Run the tank minute by minute from ``start`` to ``end`` under the relay plan; the lowest temperature."""
    t, closed, low = start, True, state.temp_c
    changes = dict(plan)
    while t < end:
        closed = changes.get(t, closed)
        draw = expected_draw_l(t, t + timedelta(minutes=1), persons) / 60
        state = step_tank(params, state, 60, relay_closed=closed, draw_l_per_s=draw)
        low = min(low, state.temp_c)
        t += timedelta(minutes=1)
    return low


@settings(max_examples=25, deadline=None)
@given(
    temp_c=st.floats(47.0, 60.0),
    heating=st.booleans(),
    persons=st.integers(1, 6),
    volume_l=st.sampled_from([150.0, 200.0, 300.0, 500.0]),
    power_w=st.sampled_from([2000.0, 3000.0, 6000.0]),
    hour=st.integers(0, 23),
    fractions=st.lists(st.floats(0.0, 1.0), min_size=12, max_size=12),
)
def test_every_schedule_of_a_water_heater_offer_keeps_the_water_warm_enough(
    temp_c: float,
    heating: bool,
    persons: int,
    volume_l: float,
    power_w: float,
    hour: int,
    fractions: list[float],
) -> None:
    params = TankParameters(volume_l=volume_l, power_w=power_w)
    state = TankState(temp_c, heating=heating)
    now = datetime(2026, 1, 22, hour, 7, tzinfo=UTC)
    forecast = TankForecast(params, state, now, persons=persons, comfort_min_c=45.0)
    made = interruption_offer(
        forecast,
        InterruptionLimits(),
        [],
        offer_id="o",
        offered_by_id="h",
        timing=OfferTiming(now),
        price_down_eur_per_kwh=0.06,
    )
    if made is None:
        return
    offer = made.offer
    assert validate_offer(offer) == []
    schedule = Schedule(
        offer.start_after_time,
        tuple(
            ScheduleSlice(
                1, s.energy_constraints[0].lower + f * (s.energy_constraints[0].upper - s.energy_constraints[0].lower)
            )
            for s, f in zip(offer.profile, fractions, strict=False)
        ),
    )
    plan = [(c.at, c.closed) for c in relay_plan("h/1", offer, schedule)]
    end = offer.start_after_time + len(offer.profile) * SLOT
    low = simulate_min_temp_c(params, state, persons, plan, start=now, end=end)
    # the forecast looks at 5-min step ends, the check at every minute: a few hundredths of a kelvin apart
    assert low >= 45.0 - 0.1
