"""Electric water heaters of n houses: one-node (fully mixed) or two-node (stratified), vectorised and pure.

Model (physics-and-grid.md 2). A one-node tank is fully mixed::

    C dT/dt = eta P_el u(t) - UA (T - T_amb) - F(t) (T - T_cold),     C = rho c_p V,  F = rho c_p Vdot_draw

A two-node tank splits the volume into an upper and a lower layer of equal size, each with half the standby
loss coefficient. The element and the thermostat sit in the lower layer (the usual Swiss bottom flange that
carries both). A draw takes hot water from the top and lets mains water in at the bottom, so water moves down to
up (plug flow between the layers)::

    C_l dT_l/dt = eta P_el u(t) - UA_l (T_l - T_amb) - F (T_l - T_cold)
    C_u dT_u/dt =               - UA_u (T_u - T_amb) - F (T_u - T_l)

and when the lower layer ends up warmer than the upper one, buoyancy mixes the two at once (energy conserving).
A draw therefore cools the lower layer first while the top stays hot; heating from below mixes the tank.

``u(t)`` is 1 when the relay is closed (seed Appendix 4: relay closed = heating enabled) *and* the thermostat
calls for heat (hysteresis between ``setpoint - deadband`` and ``setpoint``, read in the lower layer).

Integration: a step is cut into equal sub-steps of at most :data:`MAX_SUBSTEP_S`; within a sub-step the
equations above are linear with constant inputs and are solved exactly (the lower layer does not depend on the
upper one, so the system is triangular and has a closed form). When the thermostat cuts out inside a sub-step the
sub-step is split at the exact instant. Buoyancy mixing is applied at the end of each sub-step, which is the
only approximation and conserves energy. Long steps are therefore stable, and the energy balance::

    energy_in_j = (tank_stored_j(now) - tank_stored_j(start)) + losses_j + delivered_j

holds to rounding error for every house, where ``energy_in_j`` is *electric* energy, ``losses_j`` the standby
losses plus the conversion loss ``energy_in_j - heat_in_j`` (negative for a heat-pump water heater, whose
``heat_source_efficiency`` > 1 brings in ambient heat), and ``delivered_j`` the heat carried off by draws
relative to mains water.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from goflex.twin.columns import BoolArray, FloatArray, as_column, check_step, hysteresis, relax_factor, size

RHO_CP_J_PER_L_K = 4186.0 * 0.983
"""Water at ~60 C: specific heat [J/(kg K)] x density [kg/L] = volumetric heat capacity [J/(L K)]."""

MAX_SUBSTEP_S = 60.0
"""Longest sub-step [s]: bounds how late buoyancy mixing and the thermostat's next decision come."""

UPPER_SHARE = 0.5
"""Share of the volume (and of the standby loss) in the upper layer of a two-node tank."""


@dataclass(frozen=True)
class TankFleet:
    """Water heaters of ``n`` houses, one value per house in each array of shape ``(n,)``.

    Attributes:
        volume_l: tank volume [L] (> 0).
        power_w: electric power of the element [W] (>= 0).
        efficiency: heat into the water per electric energy [-] (about 0.98-1.0 for an element).
        setpoint_c: thermostat cut-out [C].
        deadband_k: thermostat hysteresis [K] (> 0): heating restarts at ``setpoint_c - deadband_k``.
        ua_w_per_k: standby loss coefficient of the whole tank [W/K] (> 0).
        ambient_c: air around the tank [C].
        cold_c: mains water [C].
        two_node: stratified (upper/lower layer) model instead of fully mixed.
        sensor_height: where the wall probe sits, as weight of the upper layer [0..1] (1 = upper half).
        sensor_coupling: how much the probe sees the water rather than the room [0..1] (insulation, contact).
        sensor_tau_s: time constant of the probe's thermal lag [s] (> 0).
    """

    volume_l: FloatArray
    power_w: FloatArray
    efficiency: FloatArray
    setpoint_c: FloatArray
    deadband_k: FloatArray
    ua_w_per_k: FloatArray
    ambient_c: FloatArray
    cold_c: FloatArray
    two_node: BoolArray
    sensor_height: FloatArray | float = 0.6
    sensor_coupling: FloatArray | float = 0.92
    sensor_tau_s: FloatArray | float = 600.0

    def __post_init__(self) -> None:
        """Check shapes and physical ranges.

        Raises:
            ValueError: on arrays of different lengths or values outside their ranges.
        """
        size(self)
        if np.any(self.volume_l <= 0) or np.any(self.ua_w_per_k <= 0) or np.any(self.deadband_k <= 0):
            raise ValueError("volume_l, ua_w_per_k and deadband_k must be > 0")
        if np.any(self.power_w < 0) or np.any(np.asarray(self.sensor_tau_s) <= 0):
            raise ValueError("power_w must be >= 0 and sensor_tau_s > 0")

    @property
    def n(self) -> int:
        """Number of houses."""
        return size(self)

    @property
    def capacity_j_per_k(self) -> FloatArray:
        """Heat capacity of the whole tank [J/K]."""
        return self.volume_l * RHO_CP_J_PER_L_K

    @classmethod
    def typical(cls, n: int, rng: np.random.Generator, *, two_node: bool = True) -> TankFleet:
        """Swiss water heaters (physics-and-grid.md 2, seed Figure 18 and 3.2.5.3).

        Volumes 200-500 L (mostly 300 L), elements 2-6 kW (mostly 6 kW; the seed's 759 boilers average 5.1 kW),
        efficiency 0.98-1.0, set point 55-65 C, dead band 5-10 K, standby loss 1.5-3.5 W/K for 300 L (labels
        A-E) scaled with the surface, room 15-20 C, mains 10-12 C.

        Args:
            n: number of houses (>= 0).
            rng: random source.
            two_node: stratified tanks (else fully mixed).
        """
        volume = rng.choice([200.0, 300.0, 400.0, 500.0], size=n, p=[0.15, 0.5, 0.25, 0.1])
        return cls(
            volume_l=volume,
            power_w=rng.choice([2000.0, 3000.0, 4000.0, 6000.0], size=n, p=[0.05, 0.1, 0.2, 0.65]),
            efficiency=rng.uniform(0.98, 1.0, n),
            setpoint_c=rng.uniform(55.0, 65.0, n),
            deadband_k=rng.uniform(5.0, 10.0, n),
            ua_w_per_k=rng.uniform(1.5, 3.5, n) * (volume / 300.0) ** (2.0 / 3.0),
            ambient_c=rng.uniform(15.0, 20.0, n),
            cold_c=rng.uniform(10.0, 12.0, n),
            two_node=np.full(n, two_node),
            sensor_height=rng.uniform(0.3, 0.9, n),
            sensor_coupling=rng.uniform(0.85, 0.97, n),
            sensor_tau_s=rng.uniform(300.0, 1200.0, n),
        )


@dataclass(frozen=True)
class TankStates:
    """States of ``n`` water heaters (arrays of shape ``(n,)``); energies are cumulative since the start.

    Attributes:
        upper_c: upper layer [C] (equals ``lower_c`` for a one-node tank).
        lower_c: lower layer, where element and thermostat sit [C].
        heating: the thermostat calls for heat (whether or not the relay lets it).
        wall_c: what the probe on the outer wall reads [C] (see :func:`tank_wall_c`).
        element_on: the element drew power at some time during the last step.
        energy_in_j: electric energy consumed [J].
        heat_in_j: heat the element put into the water [J].
        losses_j: standby losses plus conversion losses ``energy_in_j - heat_in_j`` [J].
        delivered_j: heat carried off by draws, relative to mains water [J].
    """

    upper_c: FloatArray
    lower_c: FloatArray
    heating: BoolArray
    wall_c: FloatArray
    element_on: BoolArray
    energy_in_j: FloatArray
    heat_in_j: FloatArray
    losses_j: FloatArray
    delivered_j: FloatArray

    @classmethod
    def at(cls, fleet: TankFleet, upper_c: FloatArray | float, lower_c: FloatArray | float) -> TankStates:
        """Tanks at given layer temperatures, probe settled, thermostat calling if below its band, no energy yet.

        A one-node tank takes the volume-weighted mean of the two temperatures.
        """
        n = fleet.n
        up, low = as_column(upper_c, n).copy(), as_column(lower_c, n).copy()
        mixed = UPPER_SHARE * up + (1.0 - UPPER_SHARE) * low
        up, low = np.where(fleet.two_node, up, mixed), np.where(fleet.two_node, low, mixed)
        zeros = np.zeros(n)
        return cls(
            upper_c=up,
            lower_c=low,
            heating=low <= fleet.setpoint_c - fleet.deadband_k,
            wall_c=_wall_target(fleet, up, low),
            element_on=np.zeros(n, dtype=np.bool_),
            energy_in_j=zeros,
            heat_in_j=zeros.copy(),
            losses_j=zeros.copy(),
            delivered_j=zeros.copy(),
        )

    @classmethod
    def initial(cls, fleet: TankFleet, rng: np.random.Generator) -> TankStates:
        """Tanks somewhere in their thermostat cycle: lower layer uniform in the band, top 0-3 K warmer.

        Tanks below the middle of the band are heating with probability one half (they may be on their way up).
        """
        n = fleet.n
        lower = fleet.setpoint_c - fleet.deadband_k * rng.uniform(0.0, 1.0, n)
        upper = np.minimum(lower + rng.uniform(0.0, 3.0, n), fleet.setpoint_c + 1.0)
        states = cls.at(fleet, upper, lower)
        rising = (lower < fleet.setpoint_c - 0.5 * fleet.deadband_k) & (rng.uniform(0.0, 1.0, n) < 0.5)
        return replace(states, heating=states.heating | rising)


def tank_stored_j(fleet: TankFleet, state: TankStates) -> FloatArray:
    """Heat stored in each tank relative to mains water [J]."""
    cap = fleet.capacity_j_per_k
    mean_c = UPPER_SHARE * state.upper_c + (1.0 - UPPER_SHARE) * state.lower_c
    return cap * (mean_c - fleet.cold_c)


def tank_wall_c(fleet: TankFleet, state: TankStates) -> FloatArray:
    """What an NTC probe on the tank's outer wall reads [C] (seed 3.2.5.4 rule 3, seed 2.2.1 item 3).

    The probe sits under the insulation at ``sensor_height``; it sees a mix of the two layers, pulled towards
    the room by ``1 - sensor_coupling``, and follows with a first-order lag of ``sensor_tau_s`` (integrated in
    :func:`step_tanks`). It therefore reads a few kelvin below the water and late after a draw.
    """
    del fleet  # the lag state is integrated by step_tanks; the signature leaves room for probe offsets
    return state.wall_c.copy()


def step_tanks(
    fleet: TankFleet,
    state: TankStates,
    dt_s: float,
    *,
    enabled: BoolArray,
    draw_l: FloatArray,
    heat_source_efficiency: FloatArray | None = None,
    max_substep_s: float = MAX_SUBSTEP_S,
) -> tuple[TankStates, FloatArray]:
    """Advance all tanks by ``dt_s`` seconds.

    Args:
        fleet: the tanks.
        state: their state at the start of the step.
        dt_s: step length [s] (> 0; any length, long steps are sub-stepped, see the module docstring).
        enabled: relay closed (True) or open (heating blocked), shape ``(n,)``, constant over the step.
        draw_l: hot water drawn during the step [L] (>= 0; drawn at a constant rate over the step).
        heat_source_efficiency: heat per electric energy [-], replacing ``fleet.efficiency`` (e.g. the COP of a
            heat-pump water heater at this step's conditions); ``power_w`` stays the electric power.
        max_substep_s: longest sub-step [s]: how often the thermostat and the layer mixing act (territory
            studies may take 300 s; the balance stays exact, the cut-in of the element is at most this late).

    Returns:
        The new state and the mean electric power of each tank over the step [W].

    Raises:
        ValueError: if ``dt_s`` is not positive and finite.
    """
    check_step(dt_s)
    check_step(max_substep_s)
    n_sub = max(1, math.ceil(dt_s / max_substep_s - 1e-9))
    h = dt_s / n_sub
    eff = fleet.efficiency if heat_source_efficiency is None else heat_source_efficiency
    c = _Coefficients.of(fleet, np.maximum(draw_l, 0.0) * RHO_CP_J_PER_L_K / dt_s, eff * fleet.power_w)
    probe_decay = np.exp(-h / np.asarray(fleet.sensor_tau_s, dtype=np.float64))
    upper, lower, heating, wall = state.upper_c, state.lower_c, state.heating, state.wall_c
    on_s, standby_j, delivered_j = np.zeros_like(upper), np.zeros_like(upper), np.zeros_like(upper)
    for _ in range(n_sub):
        heating = hysteresis(lower, fleet.setpoint_c - fleet.deadband_k, fleet.setpoint_c, heating)
        t_on, cut_out = _heating_time(fleet, c, lower, heating & enabled, h)
        heating = heating & ~cut_out
        upper, lower, loss_on, out_on = _layers(fleet, c, upper, lower, heat_w=c.heat_w, t=t_on)
        upper, lower, loss_off, out_off = _layers(fleet, c, upper, lower, heat_w=0.0, t=h - t_on)
        # buoyancy: warmer water below rises and mixes the layers (enthalpy conserved)
        mixed = UPPER_SHARE * upper + (1.0 - UPPER_SHARE) * lower
        sinks = fleet.two_node & (lower > upper)
        upper, lower = np.where(sinks, mixed, upper), np.where(sinks, mixed, lower)
        target = _wall_target(fleet, upper, lower)
        wall = target + (wall - target) * probe_decay
        on_s, standby_j, delivered_j = on_s + t_on, standby_j + loss_on + loss_off, delivered_j + out_on + out_off
    electric_j = fleet.power_w * on_s
    heat_j = c.heat_w * on_s
    new = TankStates(
        upper_c=upper,
        lower_c=lower,
        heating=heating,
        wall_c=wall,
        element_on=on_s > 0,
        energy_in_j=state.energy_in_j + electric_j,
        heat_in_j=state.heat_in_j + heat_j,
        losses_j=state.losses_j + standby_j + (electric_j - heat_j),
        delivered_j=state.delivered_j + delivered_j,
    )
    return new, electric_j / dt_s


@dataclass(frozen=True)
class _Coefficients:
    """Per-house constants of one step: capacities [J/K], conductances [W/K] and the element's heat [W]."""

    c_low: FloatArray
    c_up: FloatArray
    ua_low: FloatArray
    ua_up: FloatArray
    flow: FloatArray
    heat_w: FloatArray

    @classmethod
    def of(cls, fleet: TankFleet, flow_w_per_k: FloatArray, heat_w: FloatArray) -> _Coefficients:
        """A one-node tank is the lower node with the whole capacity and loss; its upper node is ignored."""
        cap, ua, two = fleet.capacity_j_per_k, fleet.ua_w_per_k, fleet.two_node
        return cls(
            c_low=np.where(two, (1.0 - UPPER_SHARE) * cap, cap),
            c_up=UPPER_SHARE * cap,
            ua_low=np.where(two, (1.0 - UPPER_SHARE) * ua, ua),
            ua_up=UPPER_SHARE * ua,
            flow=flow_w_per_k,
            heat_w=heat_w,
        )


def _heating_time(
    fleet: TankFleet, c: _Coefficients, lower: FloatArray, on: BoolArray, h: float
) -> tuple[FloatArray, BoolArray]:
    """How long the element runs in a sub-step [s], and where the thermostat cuts out inside it.

    The lower layer follows ``T(t) = eq + (T0 - eq) exp(-k t / C)``, so the instant it reaches the set point
    is ``C / k * ln((eq - T0) / (eq - setpoint))`` when the equilibrium ``eq`` lies above the set point.
    """
    k = c.ua_low + c.flow
    eq_on = (c.heat_w + c.ua_low * fleet.ambient_c + c.flow * fleet.cold_c) / k
    reaches = on & (eq_on > fleet.setpoint_c) & (lower < fleet.setpoint_c)
    ratio = np.where(reaches, (eq_on - lower) / np.where(reaches, eq_on - fleet.setpoint_c, 1.0), 1.0)
    reach_s = np.where(reaches, c.c_low / k * np.log(ratio), np.inf)
    cut_out = reaches & (reach_s < h)
    return np.where(on, np.minimum(reach_s, h), 0.0), cut_out


def _layers(
    fleet: TankFleet,
    c: _Coefficients,
    upper: FloatArray,
    lower: FloatArray,
    *,
    heat_w: FloatArray | float,
    t: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Exact solution over ``t`` [s] (per house) with constant element heat ``heat_w`` [W].

    Returns:
        Upper and lower temperature at the end [C], standby losses [J] and heat delivered by draws [J].
    """
    amb, cold, flow = fleet.ambient_c, fleet.cold_c, c.flow
    k_low = c.ua_low + flow
    b = k_low / c.c_low
    eq_low = (heat_w + c.ua_low * amb + flow * cold) / k_low
    decay_low = np.exp(-b * t)
    lower_end = eq_low + (lower - eq_low) * decay_low
    int_low = eq_low * t + (lower - eq_low) * t * relax_factor(b * t)  # ∫ T_l dt [K s]
    # upper layer, driven by the lower one through the flow: the convolution of exp(-a s) and exp(-b s)
    k_up = c.ua_up + flow
    a = k_up / c.c_up
    eq_up = (flow * eq_low + c.ua_up * amb) / k_up
    forced = flow / c.c_up * (lower - eq_low) * t * decay_low * relax_factor((a - b) * t)
    upper_end = eq_up + (upper - eq_up) * np.exp(-a * t) + forced
    # ∫ T_u dt from the upper layer's own balance, exact given the exact end state
    int_up = (flow * int_low + c.ua_up * amb * t - c.c_up * (upper_end - upper)) / k_up
    two = fleet.two_node
    upper_end = np.where(two, upper_end, lower_end)
    int_top = np.where(two, int_up, int_low)
    standby = c.ua_low * (int_low - amb * t) + np.where(two, c.ua_up * (int_up - amb * t), 0.0)
    return upper_end, lower_end, standby, flow * (int_top - cold * t)


def _wall_target(fleet: TankFleet, upper: FloatArray, lower: FloatArray) -> FloatArray:
    """The temperature the wall probe settles at [C]."""
    water = fleet.sensor_height * upper + (1.0 - np.asarray(fleet.sensor_height)) * lower
    return np.asarray(fleet.sensor_coupling * water + (1.0 - np.asarray(fleet.sensor_coupling)) * fleet.ambient_c)
