"""The houses' departure from their mean flexible power, from cumulative registers (goflex.demo.fleet_response)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.demo.fleet_response import FleetResponse

STEP = 300.0


def registers(n: int, kwh: float) -> dict[str, float]:
    return {f"r{i}": kwh for i in range(n)}


@given(
    power_kw=st.floats(0.0, 10.0),
    steps=st.lists(st.floats(1.0, 3600.0), min_size=1, max_size=40),
    start_kwh=st.floats(0.0, 1e5),
)
def test_a_steady_fleet_departs_from_nothing(power_kw: float, steps: list[float], start_kwh: float) -> None:
    # any sampling pace, any register start: constant power is its own mean
    response = FleetResponse(registers=4)
    t, kwh = 0.0, start_kwh
    assert response.step(t, registers(4, kwh)) == 0.0
    for dt in steps:
        t += dt
        kwh += power_kw * dt / 3600.0
        assert response.step(t, registers(4, kwh)) == pytest.approx(0.0, abs=1e-9 * max(1.0, start_kwh))


def test_a_shed_shows_as_less_load_and_fades_into_the_mean() -> None:
    # 10 registers at 2 kW for an hour, then 5 of them switched off: 10 kW less = -0.01 MW
    response = FleetResponse(registers=10)
    energy = registers(10, 100.0)
    t = 0.0
    response.step(t, energy)
    for _ in range(12):
        t += STEP
        energy = {k: v + 2.0 * STEP / 3600.0 for k, v in energy.items()}
        assert response.step(t, energy) == pytest.approx(0.0)
    departures = []
    for _ in range(6):
        t += STEP
        energy = {k: v + (2.0 if int(k[1:]) < 5 else 0.0) * STEP / 3600.0 for k, v in energy.items()}
        departures.append(response.step(t, energy))
    assert departures[0] == pytest.approx(-0.010)
    # the mean follows the shed (a running average before a whole window): each departure is smaller
    assert all(b > a for a, b in itertools.pairwise(departures))
    assert all(d < 0 for d in departures)
    assert response.mean_kw is not None
    assert 10.0 < response.mean_kw < 20.0


def test_a_register_read_late_is_not_a_jump_in_consumption() -> None:
    # a register that arrives with 5,000 kWh on it is left out of its first interval; the others stand for it
    response = FleetResponse(registers=3)
    response.step(0.0, {"a": 10.0, "b": 20.0})
    assert response.step(STEP, {"a": 10.25, "b": 20.25}) == 0.0  # the first interval sets the mean: 3 kW
    assert response.mean_kw == pytest.approx(3 * 3.0)
    assert response.step(2 * STEP, {"a": 10.5, "b": 20.5, "c": 5000.0}) == pytest.approx(0.0)
    assert response.step(3 * STEP, {"a": 10.75, "b": 20.75, "c": 5000.25}) == pytest.approx(0.0)


def test_a_register_that_goes_back_is_counted_and_left_out() -> None:
    response = FleetResponse(registers=2)
    response.step(0.0, {"a": 1.0, "b": 1.0})
    response.step(STEP, {"a": 1.5, "b": 1.5})
    assert response.step(2 * STEP, {"a": 2.0, "b": 0.0}) == pytest.approx(0.0)  # b was replaced: a stands for both
    assert response.resets == 1


def test_nothing_to_compare_gives_no_departure() -> None:
    response = FleetResponse(registers=2)
    assert response.step(0.0, {}) == 0.0
    assert response.step(STEP, {"a": 1.0}) == 0.0  # a is new
    assert response.step(STEP, {"a": 2.0}) == 0.0  # the same time again: only replaces the readings
    assert response.intervals == 0
    assert response.mean_kw is None


def test_after_a_window_the_mean_is_exponential() -> None:
    # a day of 1 kW then a day of 3 kW with a 1-day window: the mean ends near 3 - 2/e (an EMA's step response)
    response = FleetResponse(registers=1, window_s=86_400.0)
    t, kwh = 0.0, 0.0
    response.step(t, {"r": kwh})
    for power in (1.0, 3.0):
        for _ in range(288):
            t += STEP
            kwh += power * STEP / 3600.0
            response.step(t, {"r": kwh})
    assert response.mean_kw == pytest.approx(3.0 - 2.0 * math.exp(-1.0), abs=0.01)


@pytest.mark.parametrize(("registers_", "window"), [(0, 1.0), (1, 0.0), (1, math.nan)])
def test_bad_settings_name_the_setting(registers_: int, window: float) -> None:
    with pytest.raises(ValueError, match=r"registers|window_s"):
        FleetResponse(registers=registers_, window_s=window)


def test_more_registers_than_announced_count_as_the_fleet() -> None:
    # announced 1, three read: the three are the fleet (no scaling up of the two that were compared)
    response = FleetResponse(registers=1)
    response.step(0.0, {"a": 0.0, "b": 0.0, "c": 0.0})
    response.step(STEP, {"a": 0.1, "b": 0.1, "c": 0.1})
    assert response.mean_kw == pytest.approx(3 * 1.2)


def test_an_interval_with_less_than_half_of_the_fleet_is_not_used() -> None:
    response = FleetResponse(registers=4)
    response.step(0.0, {"a": 0.0})
    assert response.step(STEP, {"a": 1.0}) == 0.0  # 1 of 4: 12 kW scaled to 48 kW would be noise
    assert response.mean_kw is None
    response.step(2 * STEP, {"a": 1.1, "b": 0.0, "c": 0.0})
    response.step(3 * STEP, {"a": 1.2, "b": 0.1, "c": 0.1})  # 3 of 4: each 1.2 kW
    assert response.mean_kw == pytest.approx(4 * 1.2)
