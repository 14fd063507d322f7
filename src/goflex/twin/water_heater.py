"""One-node (fully mixed) electric water heater with thermostat and relay in series (pure).

Model (physics-and-grid.md 2)::

    C dT/dt = eta P_el u(t) - UA (T - T_amb) - rho c_p Vdot_draw(t) (T - T_cold),   C = rho c_p V

``u(t)`` is 1 when the relay is closed (seed Appendix 4: relay closed = heating enabled) *and* the tank's own
thermostat calls for heat (hysteresis between ``setpoint - deadband`` and ``setpoint``). The step integrates the
equation exactly for a constant input over ``dt`` (first-order linear ODE), so long steps stay stable and the
energy balance closes: electricity in = change of stored heat + losses + heat delivered with the draws.
The physics is :mod:`goflex.twin.tank` (one house, one node); this module keeps the scalar API of the demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import numpy as np

from goflex.twin.tank import RHO_CP_J_PER_L_K, TankFleet, TankStates, step_tanks

__all__ = ["RHO_CP_J_PER_L_K", "TankParameters", "TankState", "draw_profile_l_per_s", "step_tank"]


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

    One house of :func:`goflex.twin.tank.step_tanks` (one-node): exact per step, the step split at the instant
    the thermostat cuts out, so the balance ``energy_in_j x efficiency = change of stored heat + losses_j +
    delivered_j`` holds whatever ``dt_s``. ``losses_j`` here counts standby losses only. A step of
    ``dt_s <= 0`` returns ``s`` unchanged.
    """
    if dt_s <= 0:
        return s
    fleet = _fleet(p)
    states = TankStates(
        upper_c=np.array([s.temp_c]),
        lower_c=np.array([s.temp_c]),
        heating=np.array([s.heating]),
        wall_c=np.array([s.temp_c]),
        element_on=np.array([s.element_on]),
        energy_in_j=np.zeros(1),
        heat_in_j=np.zeros(1),
        losses_j=np.zeros(1),
        delivered_j=np.zeros(1),
    )
    new, _ = step_tanks(
        fleet, states, dt_s, enabled=np.array([relay_closed]), draw_l=np.array([max(0.0, draw_l_per_s) * dt_s])
    )
    conversion_j = float(new.energy_in_j[0] - new.heat_in_j[0])
    return replace(
        s,
        temp_c=float(new.lower_c[0]),
        heating=bool(new.heating[0]),
        element_on=bool(new.element_on[0]),
        energy_in_j=s.energy_in_j + float(new.energy_in_j[0]),
        losses_j=s.losses_j + float(new.losses_j[0]) - conversion_j,
        delivered_j=s.delivered_j + float(new.delivered_j[0]),
    )


def _fleet(p: TankParameters) -> TankFleet:
    """The one-house, one-node fleet of a tank."""
    return TankFleet(
        volume_l=np.array([p.volume_l]),
        power_w=np.array([p.power_w]),
        efficiency=np.array([p.efficiency]),
        setpoint_c=np.array([p.setpoint_c]),
        deadband_k=np.array([p.deadband_k]),
        ua_w_per_k=np.array([p.ua_w_per_k]),
        ambient_c=np.array([p.ambient_c]),
        cold_c=np.array([p.cold_c]),
        two_node=np.array([False]),
    )


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
