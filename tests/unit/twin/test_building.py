from __future__ import annotations

import numpy as np
import pytest

from goflex.twin.building import RcNetwork, advance
from goflex.twin.heat_pump import heat_pump_cop, supply_temperature_c

KWH = 3.6e6


def _network(two_node: bool) -> RcNetwork:
    h, h_ie = 150.0, 1200.0
    return RcNetwork(
        two_node=np.array([two_node]),
        c_in_j_per_k=np.array([3.0 * KWH if two_node else 9.0 * KWH]),
        c_env_j_per_k=np.array([6.0 * KWH]),
        h_w_per_k=np.array([h]),
        h_ie_w_per_k=np.array([h_ie]),
        h_eo_w_per_k=np.array([h * h_ie / (h_ie - h)]),
    )


def _rk4(net: RcNetwork, t_in: float, t_env: float, q: float, t_out: float, seconds: int) -> tuple[float, float]:
    """Independent reference: the 2R2C equations integrated with RK4 at 1 s."""
    c_in, c_env = net.c_in_j_per_k[0], net.c_env_j_per_k[0]
    h_ie, h_eo = net.h_ie_w_per_k[0], net.h_eo_w_per_k[0]

    def rates(a: float, b: float) -> tuple[float, float]:
        return (h_ie * (b - a) + q) / c_in, (h_ie * (a - b) + h_eo * (t_out - b)) / c_env

    for _ in range(seconds):
        k1 = rates(t_in, t_env)
        k2 = rates(t_in + 0.5 * k1[0], t_env + 0.5 * k1[1])
        k3 = rates(t_in + 0.5 * k2[0], t_env + 0.5 * k2[1])
        k4 = rates(t_in + k3[0], t_env + k3[1])
        t_in += (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]) / 6
        t_env += (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]) / 6
    return t_in, t_env


@pytest.mark.parametrize(("q", "seconds"), [(0.0, 3600), (8000.0, 600), (8000.0, 7200)])
def test_2r2c_closed_form_matches_a_numerical_integration(q: float, seconds: int) -> None:
    net = _network(True)
    end = advance(net, np.array([20.5]), np.array([12.0]), heat_w=np.array([q]), t_out_c=np.array([-5.0]), t_s=seconds)
    ref_in, ref_env = _rk4(net, 20.5, 12.0, q, -5.0, seconds)
    assert end.t_in_c[0] == pytest.approx(ref_in, abs=1e-6)
    assert end.t_env_c[0] == pytest.approx(ref_env, abs=1e-6)


def test_1r1c_and_2r2c_lose_the_same_heat_in_steady_state() -> None:
    """1/H = 1/H_ie + 1/H_eo: at the same indoor temperature and steady state, both need H (T_in - T_out)."""
    for two in (False, True):
        net = _network(two)
        q = 150.0 * 25.0  # keeps 20 C at -5 C
        t_env = 20.0 - q / net.h_ie_w_per_k[0]
        end = advance(
            net, np.array([20.0]), np.array([t_env]), heat_w=np.array([q]), t_out_c=np.array([-5.0]), t_s=86400.0
        )
        assert end.t_in_c[0] == pytest.approx(20.0, abs=1e-9)
        assert end.losses_j[0] == pytest.approx(q * 86400.0, rel=1e-9)


def test_a_2r2c_room_cools_faster_at_first_than_a_1r1c_one() -> None:
    """The light indoor node drops quickly towards the warm envelope; the 1R1C house cools with C_b H at once."""
    end = {}
    for two in (False, True):
        net = _network(two)
        t_env = 20.0 - 150.0 * 25.0 / 1200.0
        end[two] = advance(
            net, np.array([20.0]), np.array([t_env]), heat_w=np.zeros(1), t_out_c=np.array([-5.0]), t_s=7200.0
        )
    assert end[True].t_in_c[0] < end[False].t_in_c[0] < 20.0


def test_cop_matches_the_reference_figures_and_falls_with_the_lift() -> None:
    """physics-and-grid.md 3: COP 4-4.5 at 7/35 C, 2.3-2.8 at -7/35 C (0.45 x Carnot)."""
    assert 3.8 <= heat_pump_cop(7.0, 35.0, 0.45) <= 4.5
    assert 2.3 <= heat_pump_cop(-7.0, 35.0, 0.45) <= 3.0
    cops = heat_pump_cop(np.linspace(-15, 15, 31), 40.0, 0.45)
    assert np.all(np.diff(cops) > 0)
    assert heat_pump_cop(20.0, 20.0, 0.45) == 8.0  # capped in mild weather
    assert heat_pump_cop(-30.0, 60.0, 0.2) == 1.0  # never below an electric heater


def test_heating_curve_reaches_the_design_supply_and_rises_with_a_room_deficit() -> None:
    assert supply_temperature_c(45.0, -8.0) == pytest.approx(45.0)
    assert supply_temperature_c(45.0, 10.0) < supply_temperature_c(45.0, 0.0) < 45.0
    assert supply_temperature_c(35.0, 0.0, 1.0) == pytest.approx(supply_temperature_c(35.0, 0.0) + 3.0)
    assert supply_temperature_c(35.0, 0.0, -1.0) == supply_temperature_c(35.0, 0.0)
