"""One-node (fully mixed) electric water heater with thermostat and relay in series (pure).

Model (physics-and-grid.md 2)::

    C dT/dt = eta P_el u(t) - UA (T - T_amb) - rho c_p Vdot_draw(t) (T - T_cold),   C = rho c_p V

``u(t)`` is 1 when the relay is closed (seed Appendix 4: relay closed = heating enabled) *and* the tank's own
thermostat calls for heat (hysteresis between ``setpoint - deadband`` and ``setpoint``). The step integrates the
equation exactly for a constant input over ``dt`` (first-order linear ODE), so long steps stay stable and the
energy balance closes: electricity in = change of stored heat + losses + heat delivered with the draws.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

RHO_CP_J_PER_L_K = 4186.0 * 0.983  # water at ~60 C: c_p [J/(kg K)] x density [kg/L]


@dataclass(frozen=True)
class TankParameters:
    """A water heater. Defaults: a typical Swiss 300 L / 6 kW tank (physics-and-grid.md 2).

    Attributes:
        volume_l: tank volume [L].
        power_w: heating element [W].
        efficiency: electric to heat [-].
        setpoint_c: thermostat cut-out [C].
        deadband_k: thermostat hysteresis [K].
        ua_w_per_k: standby loss coefficient [W/K].
        ambient_c: room around the tank [C].
        cold_c: mains water [C].
    """

    volume_l: float = 300.0
    power_w: float = 6000.0
    efficiency: float = 0.99
    setpoint_c: float = 60.0
    deadband_k: float = 6.0
    ua_w_per_k: float = 2.5
    ambient_c: float = 18.0
    cold_c: float = 11.0

    @property
    def capacity_j_per_k(self) -> float:
        """Heat capacity C [J/K]."""
        return self.volume_l * RHO_CP_J_PER_L_K


@dataclass(frozen=True)
class TankState:
    """State of a tank.

    Attributes:
        temp_c: water temperature [C].
        heating: whether the thermostat calls for heat.
        element_on: whether the element drew power during the last step.
        energy_in_j: electricity consumed so far [J].
        losses_j: standby losses so far [J].
        delivered_j: heat carried away by hot-water draws so far [J].
    """

    temp_c: float
    heating: bool = False
    element_on: bool = False
    energy_in_j: float = 0.0
    losses_j: float = 0.0
    delivered_j: float = 0.0


def step_tank(p: TankParameters, s: TankState, dt_s: float, *, relay_closed: bool, draw_l_per_s: float) -> TankState:
    """Advance the tank by ``dt_s`` [s] with the relay position and a constant draw [L/s].

    The thermostat decides at the start of the step; if the element would heat past the set point within the
    step, the step is split at the instant the set point is reached (solved analytically) and the rest runs with
    the element off, so the energy balance stays exact whatever ``dt_s``.
    """
    if dt_s <= 0:
        return s
    heating = s.heating
    if s.temp_c <= p.setpoint_c - p.deadband_k:
        heating = True
    elif s.temp_c >= p.setpoint_c:
        heating = False
    on = heating and relay_closed
    draw_k = RHO_CP_J_PER_L_K * max(0.0, draw_l_per_s)  # [W/K]
    k = p.ua_w_per_k + draw_k  # total conductance [W/K]
    env = p.ua_w_per_k * p.ambient_c + draw_k * p.cold_c  # [W]
    cap = p.capacity_j_per_k
    t_on = 0.0
    if on:
        eq_on = (p.efficiency * p.power_w + env) / k
        t_on = dt_s
        if eq_on > p.setpoint_c > s.temp_c:
            reach = -cap / k * math.log((p.setpoint_c - eq_on) / (s.temp_c - eq_on))
            if reach < dt_s:
                t_on, heating = reach, False
    temp, mean_on = _advance(s.temp_c, p.efficiency * p.power_w + env, k, cap, t_on)
    temp, mean_off = _advance(temp, env, k, cap, dt_s - t_on)
    mean_t = (mean_on * t_on + mean_off * (dt_s - t_on)) / dt_s
    return replace(
        s,
        temp_c=temp,
        heating=heating,
        element_on=t_on > 0,
        energy_in_j=s.energy_in_j + p.power_w * t_on,
        losses_j=s.losses_j + p.ua_w_per_k * (mean_t - p.ambient_c) * dt_s,
        delivered_j=s.delivered_j + draw_k * (mean_t - p.cold_c) * dt_s,
    )


def _advance(t0: float, source_w: float, k: float, cap: float, dt: float) -> tuple[float, float]:
    """Exact solution of ``C dT/dt = source - k T`` over ``dt``: (end temperature, time-mean temperature) [C]."""
    if dt <= 0:
        return t0, t0
    eq = source_w / k
    decay = math.exp(-k * dt / cap)
    return eq + (t0 - eq) * decay, eq + (t0 - eq) * (cap / k) * (1 - decay) / dt


def draw_profile_l_per_s(hour_local: float, persons: int, rng: random.Random) -> float:
    """A stochastic hot-water draw rate [L/s] at a local hour, clustered morning and evening.

    About 45 L per person and day at 60 C (physics-and-grid.md 2): 40 % between 6 and 9 h, 45 % between 18 and
    22 h, the rest spread over the day. The expectation over a day is ``45 * persons`` litres; individual
    draws come as random events of 6 L/min.
    """
    daily_l = 45.0 * persons
    if 6 <= hour_local < 9:
        share, hours = 0.40, 3
    elif 18 <= hour_local < 22:
        share, hours = 0.45, 4
    else:
        share, hours = 0.15, 17
    mean_rate = daily_l * share / (hours * 3600)  # [L/s]
    tap = 0.1  # 6 L/min while a tap runs
    return tap if rng.random() < mean_rate / tap else 0.0
