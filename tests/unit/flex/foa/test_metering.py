"""Interval metering from cumulative registers: every slot once, whatever the sample times (Hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.metering import EnergyRegister, RegisterSample, RegisterTrail, covered, interval_energies

T0 = datetime(2026, 1, 22, 6, 0, tzinfo=UTC)
SLOT = timedelta(minutes=15)


def truth(powers_kw: list[float], t: datetime) -> float:
    """A register [kWh] whose consumption is ``powers_kw[k]`` in minute k after T0 - 1 h (piecewise linear)."""
    minutes = (t - (T0 - timedelta(hours=1))).total_seconds() / 60
    whole = min(int(minutes), len(powers_kw))
    kwh = sum(powers_kw[:whole]) / 60
    if whole < len(powers_kw):
        kwh += powers_kw[whole] * (minutes - whole) / 60
    return 100.0 + kwh


def fed(times: list[datetime], powers_kw: list[float]) -> EnergyRegister:
    register = EnergyRegister(rounding_kwh=0.0)
    for t in times:
        register.add(RegisterSample(t, truth(powers_kw, t)))
    return register


@st.composite
def sampled_offer(draw: st.DrawFn) -> tuple[list[float], list[datetime], list[datetime]]:
    """Powers over 4 h, an offer of 2..8 slots, and sample times of a loop that wakes late (gaps 1 s .. 40 min)."""
    slots = draw(st.integers(2, 8))
    starts = [T0 + k * SLOT for k in range(slots)]
    powers = draw(st.lists(st.sampled_from([0.0, 0.5, 2.0, 6.0]), min_size=240, max_size=240))
    gaps = draw(st.lists(st.integers(1, 2400), min_size=1, max_size=400))
    t = T0 - timedelta(seconds=draw(st.integers(0, 1800)))
    times = [t]
    for gap in gaps:
        t += timedelta(seconds=gap)
        times.append(t)
        if t >= starts[-1] + SLOT:
            break
    return powers, starts, times


@settings(max_examples=300)
@given(sampled_offer())
def test_every_slot_is_metered_once_and_the_slots_sum_to_the_register_difference(
    case: tuple[list[float], list[datetime], list[datetime]],
) -> None:
    powers, starts, times = case
    end = starts[-1] + SLOT
    register = fed(times, powers)
    if times[-1] < end:  # the loop has not yet seen a sample past the offer: nothing final yet
        assert not covered([register], end)
        return
    assert covered([register], end)
    metered = interval_energies([register], starts, SLOT)
    assert [t for t, _ in metered] == starts, "every slot, once, in order"
    total = sum(e for _, e in metered)
    start_kwh, end_kwh = register.value_at(starts[0]), register.value_at(end)
    assert start_kwh is not None
    assert end_kwh is not None
    assert math.isclose(total, end_kwh - start_kwh, abs_tol=1e-9)
    # each slot is the truth up to what the register cannot see: the consumption between the samples around
    # each of its boundaries
    for start, kwh in metered:
        uncertainty = 0.0
        for boundary in (start, start + SLOT):
            before = max(t for t in times if t <= boundary)
            after = min(t for t in times if t >= boundary)
            uncertainty += truth(powers, after) - truth(powers, before)
        exact = truth(powers, start + SLOT) - truth(powers, start)
        assert abs(kwh - exact) <= uncertainty + 1e-9
        assert kwh >= -1e-12, "a non-decreasing register meters no negative energy"


def test_samples_exactly_at_the_boundaries_meter_the_exact_energy() -> None:
    powers = [2.0] * 70 + [0.0] * 30 + [6.0] * 140
    starts = [T0 + k * SLOT for k in range(4)]
    register = fed([T0 - timedelta(minutes=3), *starts, starts[-1] + SLOT], powers)
    metered = interval_energies([register], starts, SLOT)
    expected = [truth(powers, s + SLOT) - truth(powers, s) for s in starts]
    assert [e for _, e in metered] == pytest.approx(expected, abs=1e-12)
    assert expected[:2] == pytest.approx([2.0 * 10 / 60, 0.0])  # 10 min at 2 kW, then off until 06:40


def test_a_relay_behind_three_clamps_meters_their_sum() -> None:
    starts = [T0, T0 + SLOT]
    phases = []
    for k in range(3):
        register = EnergyRegister()
        for minute in range(-5, 40, 7):
            t = T0 + timedelta(minutes=minute, seconds=k * 11)
            register.add(RegisterSample(t, 10.0 * k + (minute + 10) * 0.05 + k * 11 / 60 * 0.05))
        phases.append(register)
    both = interval_energies(phases, starts, SLOT)
    alone = [interval_energies([p], starts, SLOT) for p in phases]
    assert [e for _, e in both] == pytest.approx([sum(a[i][1] for a in alone) for i in range(2)])
    assert [e for _, e in both] == pytest.approx([3 * 0.75, 3 * 0.75])


def test_a_slot_is_left_out_until_both_its_boundaries_are_bracketed() -> None:
    register = EnergyRegister()
    register.add(RegisterSample(T0 - timedelta(minutes=1), 1.0))
    register.add(RegisterSample(T0 + timedelta(minutes=20), 2.0))
    assert [t for t, _ in interval_energies([register], [T0, T0 + SLOT], SLOT)] == [T0]
    assert not covered([register], T0 + 2 * SLOT)
    assert not covered([], T0)


def test_a_meter_reset_starts_a_new_segment_and_a_rounding_dip_is_no_reset() -> None:
    register = EnergyRegister(rounding_kwh=0.001)
    register.add(RegisterSample(T0, 5.0))
    register.add(RegisterSample(T0 + timedelta(minutes=5), 5.2))
    register.add(RegisterSample(T0 + timedelta(minutes=6), 5.1995))  # rounding: read as unchanged
    register.add(RegisterSample(T0 + timedelta(minutes=15), 5.5))
    register.add(RegisterSample(T0 + timedelta(minutes=20), 0.1))  # a new meter
    register.add(RegisterSample(T0 + timedelta(minutes=45), 0.6))
    assert register.resets == 1
    assert register.value_at(T0 + timedelta(minutes=6)) == 5.2
    assert register.value_at(T0 + timedelta(minutes=17)) is None, "no interpolation across the reset"
    assert register.value_at(T0 + timedelta(minutes=30)) == pytest.approx(0.1 + 0.5 * 10 / 25)
    metered = interval_energies([register], [T0, T0 + SLOT, T0 + 2 * SLOT], SLOT)
    assert [t for t, _ in metered] == [T0, T0 + 2 * SLOT], "the slot across the reset cannot be valued"
    assert metered[1][1] == pytest.approx(0.5 * 15 / 25)


def test_a_repeated_or_late_sample_is_ignored_and_a_bad_one_refused() -> None:
    register = EnergyRegister()
    assert register.add(RegisterSample(T0, 1.0))
    assert not register.add(RegisterSample(T0, 1.0))
    assert not register.add(RegisterSample(T0 - timedelta(seconds=1), 0.5))
    for bad in (math.nan, math.inf, -1.0):
        with pytest.raises(InvalidDeviceState) as err:
            register.add(RegisterSample(T0 + timedelta(minutes=1), bad))
        assert err.value.field == "energy_kwh"
    assert len(register) == 1


@given(st.lists(st.integers(1, 600), min_size=2, max_size=200), st.integers(0, 20_000))
def test_pruning_keeps_every_value_from_its_instant_on(gaps: list[int], cut_s: int) -> None:
    register = EnergyRegister()
    t, kwh = T0, 0.0
    for gap in gaps:
        t += timedelta(seconds=gap)
        kwh += gap / 3600
        register.add(RegisterSample(t, kwh))
    cut = T0 + timedelta(seconds=cut_s)
    probes = [cut + timedelta(seconds=s) for s in range(0, 20_000, 317)]
    before = [register.value_at(p) for p in probes]
    register.prune(cut)
    assert [register.value_at(p) for p in probes] == before
    assert len(register) <= len(gaps)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=600))
def test_a_trail_keeps_the_samples_each_boundary_needs(gaps: list[int]) -> None:
    # a clamp published about every 15 s (gateway sampling with jitter), read by an agent that comes late
    trail, full = RegisterTrail(900, boundaries=200), EnergyRegister()
    t, kwh = T0 - timedelta(seconds=7), 0.0
    for gap in gaps:
        t += timedelta(seconds=gap)
        kwh += gap * (0.001 if (t.minute // 5) % 2 else 0.0005)
        sample = RegisterSample(t, kwh)
        trail.add(sample)
        full.add(sample)
    kept = EnergyRegister()
    for sample in trail.samples():
        kept.add(sample)
    assert len(trail.samples()) <= 2 * 200 + 1
    boundary = T0
    while boundary <= t:
        assert kept.value_at(boundary) == full.value_at(boundary)
        boundary += SLOT
