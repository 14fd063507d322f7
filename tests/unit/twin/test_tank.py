from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.twin.columns import take
from goflex.twin.tank import (
    RHO_CP_J_PER_L_K,
    TankFleet,
    TankStates,
    step_tanks,
    tank_stored_j,
    tank_wall_c,
)


def _fleet(n: int, *, two_node: bool | list[bool] = True, **overrides: float) -> TankFleet:
    """n identical demo-like tanks (300 L, 6 kW, 60 C / 6 K), with scalar overrides."""
    values = {
        "volume_l": 300.0,
        "power_w": 6000.0,
        "efficiency": 0.99,
        "setpoint_c": 60.0,
        "deadband_k": 6.0,
        "ua_w_per_k": 2.5,
        "ambient_c": 18.0,
        "cold_c": 11.0,
    } | overrides
    arrays = {k: np.full(n, v) for k, v in values.items()}
    return TankFleet(**arrays, two_node=np.broadcast_to(np.asarray(two_node), (n,)).copy())


def _balance_error(fleet: TankFleet, start: TankStates, end: TankStates) -> np.ndarray:
    stored = tank_stored_j(fleet, end) - tank_stored_j(fleet, start)
    residual = end.energy_in_j - stored - end.losses_j - end.delivered_j
    scale = np.maximum.reduce([end.energy_in_j, np.abs(stored), np.abs(end.losses_j), end.delivered_j, np.full(3, 1e3)])
    return np.abs(residual) / scale


@settings(max_examples=150, deadline=None)
@given(
    volume=st.floats(80, 500),
    power=st.floats(0, 8000),
    ua=st.floats(0.5, 6),
    cop=st.one_of(st.none(), st.floats(0.9, 3.5)),
    t0=st.tuples(st.floats(10, 75), st.floats(10, 75)),
    steps=st.lists(
        st.tuples(
            st.sampled_from([1.0, 15.0, 60.0, 61.5, 300.0, 3600.0]),
            st.tuples(st.booleans(), st.booleans(), st.booleans()),
            st.sampled_from([0.0, 1.0, 10.0, 60.0, 400.0]),
        ),
        min_size=1,
        max_size=25,
    ),
)
def test_electricity_in_equals_stored_plus_losses_plus_delivered(
    volume: float,
    power: float,
    ua: float,
    cop: float | None,
    t0: tuple[float, float],
    steps: list[tuple[float, tuple[bool, bool, bool], float]],
) -> None:
    """For every house (one-node, two-node, heat-pump water heater), whatever the steps, relays and draws."""
    fleet = _fleet(3, two_node=[False, True, True], volume_l=volume, power_w=power, ua_w_per_k=ua)
    start = TankStates.at(fleet, t0[0], t0[1])
    state = start
    efficiency = None if cop is None else np.full(3, cop)
    for dt, relays, draw in steps:
        state, power_w = step_tanks(
            fleet, state, dt, enabled=np.array(relays), draw_l=np.array([draw, draw, 0.5 * draw]),
            heat_source_efficiency=efficiency,
        )  # fmt: skip
        assert np.all((power_w >= 0) & (power_w <= power + 1e-9))
        assert np.all(np.isfinite(state.upper_c))
        assert np.all(np.isfinite(state.lower_c))
    assert np.all(_balance_error(fleet, start, state) <= 1e-3)


def _rk4_two_node(fleet: TankFleet, upper: float, lower: float, flow: float, seconds: int) -> tuple[float, float]:
    """Independent reference: the two-node equations with the element off, RK4 at 1 s."""
    c_half = fleet.capacity_j_per_k[0] / 2
    ua_half = fleet.ua_w_per_k[0] / 2
    amb, cold = fleet.ambient_c[0], fleet.cold_c[0]

    def rates(u: float, low: float) -> tuple[float, float]:
        du = (flow * (low - u) - ua_half * (u - amb)) / c_half
        dl = (flow * (cold - low) - ua_half * (low - amb)) / c_half
        return du, dl

    for _ in range(seconds):
        k1 = rates(upper, lower)
        k2 = rates(upper + k1[0] / 2, lower + k1[1] / 2)
        k3 = rates(upper + k2[0] / 2, lower + k2[1] / 2)
        k4 = rates(upper + k3[0], lower + k3[1])
        upper += (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]) / 6
        lower += (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]) / 6
    return upper, lower


@pytest.mark.parametrize("dt", [60.0, 600.0, 1800.0])
def test_closed_form_matches_a_numerical_integration_of_the_layers(dt: float) -> None:
    fleet = _fleet(1)
    state = TankStates.at(fleet, 60.0, 55.0)
    litres = 120.0
    end, _ = step_tanks(fleet, state, dt, enabled=np.array([False]), draw_l=np.array([litres]))
    ref_u, ref_l = _rk4_two_node(fleet, 60.0, 55.0, litres * RHO_CP_J_PER_L_K / dt, int(dt))
    assert end.upper_c[0] == pytest.approx(ref_u, abs=1e-6)
    assert end.lower_c[0] == pytest.approx(ref_l, abs=1e-6)


def test_a_draw_cools_the_lower_layer_first_and_the_top_stays_hot_longer() -> None:
    fleet = _fleet(2, two_node=[False, True])
    state = TankStates.at(fleet, 60.0, 60.0)
    start = state
    for _ in range(10):  # 150 L in 10 min with the relay open
        state, _ = step_tanks(fleet, state, 60.0, enabled=np.zeros(2, bool), draw_l=np.full(2, 15.0))
    one, two = take(state, 0), take(state, 1)
    assert one.upper_c[0] == one.lower_c[0]
    assert two.lower_c[0] < one.lower_c[0] < two.upper_c[0]
    assert two.upper_c[0] > 45.0 > one.upper_c[0]
    # the stratified tank delivered hotter water, so less heat is left in it
    assert tank_stored_j(fleet, state)[1] < tank_stored_j(fleet, state)[0]
    assert (state.delivered_j - start.delivered_j)[1] > (state.delivered_j - start.delivered_j)[0]


def test_heating_from_below_mixes_the_layers_and_the_thermostat_holds_its_band() -> None:
    fleet = _fleet(2, two_node=[False, True])
    state = TankStates.at(fleet, 50.0, 20.0)
    assert state.heating.all()
    for _ in range(24 * 60):
        state, _ = step_tanks(fleet, state, 60.0, enabled=np.ones(2, bool), draw_l=np.zeros(2))
        assert np.all(state.upper_c >= state.lower_c - 1e-9)
    assert np.all((state.lower_c >= 60.0 - 6.0 - 0.5) & (state.upper_c <= 60.0 + 0.5))
    assert abs(state.upper_c[1] - state.lower_c[1]) < 1.0


def test_full_recharge_takes_about_three_hours_at_6kw() -> None:
    """physics-and-grid.md 2: 10 -> 60 C is 17.4 kWh, 2.9 h at 6 kW."""
    fleet = _fleet(2, two_node=[False, True], cold_c=10.0)
    state = TankStates.at(fleet, 10.0, 10.0)
    minutes = np.zeros(2)
    for _ in range(400):
        state, power = step_tanks(fleet, state, 60.0, enabled=np.ones(2, bool), draw_l=np.zeros(2))
        minutes += power > 0
    assert np.all((minutes >= 2.7 * 60) & (minutes <= 3.1 * 60))
    assert np.all((state.energy_in_j / 3.6e6 >= 17.0) & (state.energy_in_j / 3.6e6 <= 18.0))


def test_long_steps_stay_stable_and_agree_with_short_ones() -> None:
    fleet = _fleet(2, two_node=[False, True])
    short = long = TankStates.at(fleet, 52.0, 48.0)
    for hour in range(12):
        draw = np.full(2, 50.0 if hour in (1, 7) else 0.0)
        enabled = np.full(2, hour not in (2, 3))
        long, _ = step_tanks(fleet, long, 3600.0, enabled=enabled, draw_l=draw)
        for _ in range(60):
            short, _ = step_tanks(fleet, short, 60.0, enabled=enabled, draw_l=draw / 60)
    np.testing.assert_allclose(long.upper_c, short.upper_c, atol=1e-9)
    np.testing.assert_allclose(long.energy_in_j, short.energy_in_j, rtol=1e-9)


def test_the_wall_probe_reads_below_the_water_and_lags() -> None:
    fleet = _fleet(1, two_node=[True])
    state = TankStates.at(fleet, 60.0, 60.0)
    assert 50.0 < tank_wall_c(fleet, state)[0] < 60.0
    state, _ = step_tanks(fleet, state, 60.0, enabled=np.zeros(1, bool), draw_l=np.array([100.0]))
    drop_water = 60.0 - (0.6 * state.upper_c[0] + 0.4 * state.lower_c[0])
    drop_probe = 0.92 * 60.0 + 0.08 * 18.0 - tank_wall_c(fleet, state)[0]
    assert 0 < drop_probe < drop_water


def test_a_two_hour_block_keeps_the_delivered_water_hot_for_a_morning_cluster() -> None:
    """Four showers (100 L of hot water, more than 40 % of 4 x 45 L) during a 07:00-09:00 block.

    The tanks start anywhere in a normal thermostat cycle (probe layer between cut-in and cut-out), i.e. some
    were about to reheat when the relay opened; the top (the outlet) must stay at or above 45 C.
    """
    n = 7
    fleet = _fleet(n)
    lower = np.linspace(54.0, 60.0, n)
    state = TankStates.at(fleet, np.minimum(lower + 1.5, 60.0), lower)
    blocked = np.zeros(n, dtype=np.bool_)
    for minute in range(120):
        draw = np.full(n, 25.0 if minute in (15, 25, 40, 55) else 0.0)
        state, power = step_tanks(fleet, state, 60.0, enabled=blocked, draw_l=draw)
        assert np.all(power == 0)
        assert np.all(state.upper_c >= 45.0)
    # and the fully mixed model would not have managed: it is the stratification that keeps the top hot
    mixed = _fleet(1, two_node=False)
    one = TankStates.at(mixed, 54.0, 54.0)
    for _ in range(4):
        one, _ = step_tanks(mixed, one, 60.0, enabled=np.zeros(1, bool), draw_l=np.array([25.0]))
    assert one.upper_c[0] < 45.0


def _day(fleet: TankFleet, state: TankStates, draws: np.ndarray, block: range) -> tuple[TankStates, np.ndarray]:
    powers = []
    for minute in range(draws.shape[0]):
        enabled = np.full(fleet.n, minute not in block)
        state, power = step_tanks(fleet, state, 60.0, enabled=enabled, draw_l=draws[minute])
        powers.append(power.sum())
    return state, np.array(powers)


def test_shifting_conserves_a_fleet_of_boilers_energy_and_recovers_after_release() -> None:
    rng = np.random.default_rng(11)
    fleet = TankFleet.typical(150, rng)
    start = TankStates.initial(fleet, rng)
    minutes = 24 * 60
    # 45 L per person and day, 1-5 persons, as 10 L tap events clustered morning and evening
    rate = np.where((np.arange(minutes) // 60 % 24 >= 6) & (np.arange(minutes) // 60 % 24 < 9), 0.4 / 180, 0.0)
    rate += np.where((np.arange(minutes) // 60 >= 18) & (np.arange(minutes) // 60 < 22), 0.45 / 240, 0.0)
    rate += 0.15 / (24 * 60)
    persons = rng.integers(1, 6, fleet.n)
    events = rng.random((minutes, fleet.n)) < rate[:, None] * persons[None, :] * 45.0 / 10.0
    draws = np.where(events, 10.0, 0.0)
    block = range(7 * 60, 9 * 60)
    free, free_p = _day(fleet, start, draws, range(0))
    shifted, shifted_p = _day(fleet, start, draws, block)
    total_free, total_shifted = free.energy_in_j.sum(), shifted.energy_in_j.sum()
    assert abs(total_shifted - total_free) <= 0.03 * total_free
    before = free_p[5 * 60 : 7 * 60].mean()
    after = shifted_p[9 * 60 : 10 * 60].mean()
    assert shifted_p[block.start : block.stop].max() == 0
    assert after > 1.5 * max(before, free_p[9 * 60 : 10 * 60].mean())


def test_many_houses_at_once_equal_one_house_at_a_time() -> None:
    rng = np.random.default_rng(5)
    fleet = TankFleet.typical(6, rng, two_node=True)
    fleet = TankFleet(**{**fleet.__dict__, "two_node": np.array([True, False, True, False, True, True])})
    state = TankStates.initial(fleet, rng)
    singles = [take(state, i) for i in range(6)]
    for minute in range(300):
        enabled = rng.random(6) < 0.8
        draw = np.where(rng.random(6) < 0.05, 12.0, 0.0)
        state, power = step_tanks(fleet, state, 90.0, enabled=enabled, draw_l=draw)
        for i in range(6):
            singles[i], p = step_tanks(take(fleet, i), singles[i], 90.0, enabled=enabled[[i]], draw_l=draw[[i]])
            assert p[0] == power[i]
        del minute
    for i in range(6):
        for name in ("upper_c", "lower_c", "wall_c", "energy_in_j", "losses_j", "delivered_j"):
            assert getattr(singles[i], name)[0] == getattr(state, name)[i]


def test_one_step_of_12000_houses_costs_about_a_millisecond() -> None:
    rng = np.random.default_rng(3)
    fleet = TankFleet.typical(12_000, rng)
    state = TankStates.initial(fleet, rng)
    enabled, draw = np.ones(12_000, bool), np.where(rng.random(12_000) < 0.05, 6.0, 0.0)
    durations = []
    for _ in range(30):
        t0 = time.perf_counter()
        state, _ = step_tanks(fleet, state, 60.0, enabled=enabled, draw_l=draw)
        durations.append(time.perf_counter() - t0)
    assert float(np.median(durations)) < 0.010  # measured ~1 ms; the margin absorbs slow CI machines


def test_invalid_steps_and_parameters_are_rejected() -> None:
    fleet = _fleet(1)
    with pytest.raises(ValueError, match="positive"):
        step_tanks(fleet, TankStates.at(fleet, 50, 50), 0.0, enabled=np.ones(1, bool), draw_l=np.zeros(1))
    with pytest.raises(ValueError, match="> 0"):
        _fleet(1, volume_l=0.0)
