"""The execution planner: schedules become relay transitions and power set points at the right instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.foa.execution import (
    PowerSetpoint,
    RelayCommand,
    StartCycle,
    Timeline,
    baseline_schedule,
    deviation_kwh,
    power_plan,
    relay_plan,
    start_plan,
)
from goflex.flex.foa.framing import OfferTiming, SliceSpec, build_offer
from goflex.flex.model import FlexOffer, Schedule, ScheduleSlice

NOW = datetime(2026, 1, 22, 5, 7, tzinfo=UTC)
T0 = datetime(2026, 1, 22, 6, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def interruption() -> FlexOffer:
    """Two interruptible slots (baseline 1.0 and 0.5 kWh) and one rebound slot."""
    return build_offer(
        offer_id="o",
        offered_by_id="goflex-dc-001",
        timing=OfferTiming(NOW),
        start=T0,
        slices=[SliceSpec(0.0, 1.0, 1.0, 0.06, 0.06), SliceSpec(0.0, 0.5, 0.5, 0.06, 0.06), SliceSpec(0.2, 1.7, 0.2)],
    )


def sched(start: datetime, *amounts: float) -> Schedule:
    return Schedule(start, tuple(ScheduleSlice(1, a) for a in amounts))


def test_full_then_half_interruption_opens_the_relay_for_23_minutes() -> None:
    # slot 1 fully interrupted (15 min), slot 2 half (7.5 min -> 8 at one-minute resolution); then closed.
    plan = relay_plan("goflex-dc-001/1", interruption(), sched(T0, 0.0, 0.25, 1.7))
    assert plan == [
        RelayCommand(T0, "goflex-dc-001/1", False),
        RelayCommand(T0 + 23 * MIN, "goflex-dc-001/1", True),
    ]


def test_the_baseline_keeps_the_relay_closed() -> None:
    offer = interruption()
    assert relay_plan("d", offer, baseline_schedule(offer)) == [RelayCommand(T0, "d", True)]


def test_two_separate_blocks_close_in_between() -> None:
    plan = relay_plan("d", interruption(), sched(T0, 0.5, 0.0, 1.0))
    assert [(c.at - T0, c.closed) for c in plan] == [
        (0 * MIN, False),
        (8 * MIN, True),  # half of slot 1 (7.5 -> 8 min)
        (15 * MIN, False),
        (30 * MIN, True),
    ]


def test_an_invalid_schedule_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidFlexOffer, match=r"scheduleSlices\[1\].energyAmount"):
        relay_plan("d", interruption(), sched(T0, 0.0, 0.9, 0.2))


def test_power_plan_turns_energy_into_watts_and_ends_at_zero() -> None:
    offer = build_offer(
        offer_id="b",
        offered_by_id="cdems-1",
        timing=OfferTiming(NOW),
        start=T0,
        slices=[SliceSpec(-0.75, 0.75, 0.0, 0.1, 0.1), SliceSpec(-0.75, 0.75, 0.0, 0.1, 0.1)],
    )
    plan = power_plan("cdems-1/battery", offer, sched(T0, 0.5, -0.25))
    assert plan == [
        PowerSetpoint(T0, "cdems-1/battery", pytest.approx(2000.0)),  # type: ignore[arg-type]
        PowerSetpoint(T0 + 15 * MIN, "cdems-1/battery", pytest.approx(-1000.0)),  # type: ignore[arg-type]
        PowerSetpoint(T0 + 30 * MIN, "cdems-1/battery", 0.0),
    ]


def test_a_wet_cycle_starts_at_the_scheduled_start() -> None:
    offer = build_offer(
        offer_id="w",
        offered_by_id="hems-1",
        timing=OfferTiming(NOW),
        start=T0,
        latest_start=T0 + 45 * MIN,
        slices=[SliceSpec(0.5, 0.5, 0.5)],
    )
    assert start_plan("hems-1/washer", offer, sched(T0 + 30 * MIN, 0.5)) == [StartCycle(T0 + 30 * MIN, "hems-1/washer")]


def test_deviation_is_metered_minus_scheduled_per_slot() -> None:
    offer = interruption()
    got = deviation_kwh(offer, sched(T0, 0.0, 0.5, 1.2), [(T0, 0.3), (T0 + 15 * MIN, 0.5)])
    assert got == [(T0, pytest.approx(0.3)), (T0 + 15 * MIN, pytest.approx(0.0))]


def test_timeline_hands_out_due_commands_and_comfort_override_drops_the_rest() -> None:
    timeline = Timeline()
    timeline.add(relay_plan("a", interruption(), sched(T0, 0.0, 0.0, 1.7)))
    timeline.add([RelayCommand(T0 + 5 * MIN, "b", False)])
    assert timeline.next_time() == T0
    assert timeline.due(T0 - MIN) == []
    assert timeline.due(T0 + 5 * MIN) == [RelayCommand(T0, "a", False), RelayCommand(T0 + 5 * MIN, "b", False)]
    # house a's water got too cold at 06:10: close now, forget the rest of its plan
    assert timeline.override("a", T0 + 10 * MIN) == RelayCommand(T0 + 10 * MIN, "a", True)
    assert timeline.pending("a") == []
    assert timeline.overrides == 1
