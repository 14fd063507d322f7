"""Space heating of n houses: a 1R1C or 2R2C building heated by a heat pump or direct electric heaters (pure).

Building: :mod:`goflex.twin.building`. Heater: on/off at its nominal thermal power ``Q_nom`` (air/water heat
pumps of the pilot era and electric heaters both cycle rather than modulate), ``P_el = Q / COP`` with the COP of
:func:`goflex.twin.heat_pump.heat_pump_cop` at the supply temperature of the heating curve, and COP = 1 for
resistive heaters.

Controller: a room thermostat that calls for heat at ``setpoint - band`` and stops at ``setpoint + band``,
sampled at every sub-step (at most :data:`MAX_SUBSTEP_S`). A heat pump's compressor, once started, runs at least
``min_on_s`` and, once stopped, rests at least ``min_off_s``. The relay is in series (seed Appendix 4): open
stops the heater at once, whatever the minimum run time. After a block the room has cooled below the band, so
the thermostat calls and the heater runs at full power until the room is back at ``setpoint + band``: the
rebound follows from the controller, it is not scripted.

Energy accounting, cumulative per house [J]::

    heat_in_j + gains_j = (building_stored_j(now) - building_stored_j(start)) + losses_j
    heat_in_j = energy_in_j x COP          (COP constant within each sub-step; 1 for resistive heaters)

so for every house: electricity in + ambient heat pumped (``heat_in_j - energy_in_j``) + gains = Δstored +
losses, to rounding error, whatever the step length (the building is integrated exactly, see building.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from goflex.twin.building import RcNetwork, advance
from goflex.twin.columns import BoolArray, FloatArray, as_column, check_step, hysteresis, size
from goflex.twin.heat_pump import DESIGN_OUTDOOR_C, heat_pump_cop, supply_temperature_c

__all__ = [
    "MAX_SUBSTEP_S",
    "SpaceHeatingFleet",
    "SpaceHeatingStates",
    "building_stored_j",
    "heat_pump_cop",
    "room_sensor_c",
    "step_space_heating",
]

MAX_SUBSTEP_S = 60.0
"""Longest sub-step [s]: the thermostat samples the room at least this often."""

KWH_J = 3.6e6


@dataclass(frozen=True)
class SpaceHeatingFleet:
    """Buildings and their heaters for ``n`` houses (arrays of shape ``(n,)``).

    Attributes:
        two_node: 2R2C building (else 1R1C).
        h_w_per_k: overall heat loss coefficient H = 1/R [W/K] (> 0).
        c_j_per_k: total heat capacity C_b [J/K] (> 0).
        env_share: share of ``c_j_per_k`` in the envelope/mass node of a 2R2C building, in (0, 1).
        h_ie_w_per_k: indoor-envelope conductance of a 2R2C building [W/K] (> ``h_w_per_k``).
        is_heat_pump: heat pump (else direct electric heaters, COP 1).
        q_nom_w: nominal thermal power of the heater [W] (>= 0).
        supply_design_c: heat pump supply temperature at the design outdoor temperature [C].
        carnot_efficiency: heat pump's share of the Carnot COP [-].
        setpoint_c: room set point [C].
        band_k: thermostat half band [K] (> 0): on at ``setpoint - band``, off at ``setpoint + band``.
        min_on_s: minimum run time once started [s].
        min_off_s: minimum rest time once stopped [s].
    """

    two_node: BoolArray
    h_w_per_k: FloatArray
    c_j_per_k: FloatArray
    env_share: FloatArray
    h_ie_w_per_k: FloatArray
    is_heat_pump: BoolArray
    q_nom_w: FloatArray
    supply_design_c: FloatArray
    carnot_efficiency: FloatArray
    setpoint_c: FloatArray
    band_k: FloatArray
    min_on_s: FloatArray
    min_off_s: FloatArray

    def __post_init__(self) -> None:
        """Check shapes and ranges.

        Raises:
            ValueError: on arrays of different lengths or values outside their ranges.
        """
        size(self)
        if np.any(self.h_w_per_k <= 0) or np.any(self.c_j_per_k <= 0) or np.any(self.band_k <= 0):
            raise ValueError("h_w_per_k, c_j_per_k and band_k must be > 0")
        if np.any(
            self.two_node & ((self.env_share <= 0) | (self.env_share >= 1) | (self.h_ie_w_per_k <= self.h_w_per_k))
        ):
            raise ValueError("a 2R2C building needs 0 < env_share < 1 and h_ie_w_per_k > h_w_per_k")
        if np.any(self.q_nom_w < 0):
            raise ValueError("q_nom_w must be >= 0")

    @property
    def n(self) -> int:
        """Number of houses."""
        return size(self)

    @property
    def network(self) -> RcNetwork:
        """The buildings' thermal networks."""
        two, c, h, h_ie = self.two_node, self.c_j_per_k, self.h_w_per_k, self.h_ie_w_per_k
        h_ie_safe = np.where(two, h_ie, 2.0 * h)  # 1R1C rows: any value keeps h_eo finite
        return RcNetwork(
            two_node=two,
            c_in_j_per_k=np.where(two, (1.0 - self.env_share) * c, c),
            c_env_j_per_k=self.env_share * c,
            h_w_per_k=h,
            h_ie_w_per_k=h_ie_safe,
            h_eo_w_per_k=h * h_ie_safe / (h_ie_safe - h),
        )

    @classmethod
    def typical(
        cls, n: int, rng: np.random.Generator, *, heat_pump: BoolArray, two_node: bool = True
    ) -> SpaceHeatingFleet:
        """Swiss single-family houses of ~150 m2 (physics-and-grid.md 3).

        H 100-250 W/K, C_b 7-11 kWh/K (time constants ~30-110 h); 2R2C: 40-60 % of the capacity in the
        envelope, H_ie 10-20 x H. Heaters sized to the design load H x (20 C - (-8 C)): heat pumps 1.2-1.6 x
        that, within 6-10 kW thermal, supply 35 C (floor) / 45 C / 55 C (radiators), 0.40-0.50 of Carnot,
        minimum run and rest 10-20 min; electric heaters 1.1-1.5 x the design load. Comfort 20 +/- 1 C
        (set points 19-21.5 C), thermostat half band 0.3-0.7 K.

        Args:
            n: number of houses.
            rng: random source.
            heat_pump: which houses heat with a heat pump (else direct electric), shape ``(n,)``.
            two_node: 2R2C buildings (else 1R1C).
        """
        hp = np.asarray(heat_pump, dtype=np.bool_)
        h = rng.uniform(100.0, 250.0, n)
        design_w = h * (20.0 - DESIGN_OUTDOOR_C)
        return cls(
            two_node=np.full(n, two_node),
            h_w_per_k=h,
            c_j_per_k=rng.uniform(7.0, 11.0, n) * KWH_J,
            env_share=rng.uniform(0.4, 0.6, n),
            h_ie_w_per_k=h * rng.uniform(10.0, 20.0, n),
            is_heat_pump=hp,
            q_nom_w=np.where(
                hp,
                np.clip(design_w * rng.uniform(1.2, 1.6, n), 6000.0, 10000.0),
                design_w * rng.uniform(1.1, 1.5, n),
            ),
            supply_design_c=rng.choice([35.0, 45.0, 55.0], size=n, p=[0.5, 0.35, 0.15]),
            carnot_efficiency=rng.uniform(0.40, 0.50, n),
            setpoint_c=np.clip(rng.normal(20.0, 0.6, n), 19.0, 21.5),
            band_k=rng.uniform(0.3, 0.7, n),
            min_on_s=np.where(hp, rng.uniform(600.0, 1200.0, n), 0.0),
            min_off_s=np.where(hp, rng.uniform(600.0, 1200.0, n), 0.0),
        )


@dataclass(frozen=True)
class SpaceHeatingStates:
    """States of ``n`` heated buildings; energies cumulative since the start [J].

    Attributes:
        t_in_c: indoor (room) temperature [C].
        t_env_c: envelope temperature [C] (equals ``t_in_c`` for 1R1C).
        calling: the room thermostat calls for heat.
        on: the heater runs (at the end of the last step).
        since_switch_s: time since the heater last started or stopped [s].
        energy_in_j: electric energy [J].
        heat_in_j: heat delivered by the heater [J] (``energy_in_j`` x COP).
        gains_j: internal and solar gains [J].
        losses_j: heat lost to the outdoor air [J].
    """

    t_in_c: FloatArray
    t_env_c: FloatArray
    calling: BoolArray
    on: BoolArray
    since_switch_s: FloatArray
    energy_in_j: FloatArray
    heat_in_j: FloatArray
    gains_j: FloatArray
    losses_j: FloatArray

    @classmethod
    def initial(
        cls, fleet: SpaceHeatingFleet, rng: np.random.Generator, *, t_out_c: FloatArray | float = 0.0
    ) -> SpaceHeatingStates:
        """Buildings in steady state for ``t_out_c`` [C], rooms spread over their band, heaters at their duty.

        A heater runs with probability equal to its steady duty cycle ``H (setpoint - t_out) / Q_nom``.
        """
        n = fleet.n
        t_out = as_column(t_out_c, n)
        t_in = fleet.setpoint_c + fleet.band_k * rng.uniform(-1.0, 1.0, n)
        net = fleet.network
        t_env = np.where(fleet.two_node, t_out + (t_in - t_out) * fleet.h_w_per_k / net.h_eo_w_per_k, t_in)
        duty = np.clip(fleet.h_w_per_k * (fleet.setpoint_c - t_out) / np.maximum(fleet.q_nom_w, 1.0), 0.0, 1.0)
        on = (rng.uniform(0.0, 1.0, n) < duty) & (fleet.q_nom_w > 0)
        zeros = np.zeros(n)
        return cls(
            t_in_c=t_in,
            t_env_c=t_env,
            calling=on.copy(),
            on=on,
            since_switch_s=rng.uniform(0.0, 3600.0, n),
            energy_in_j=zeros,
            heat_in_j=zeros.copy(),
            gains_j=zeros.copy(),
            losses_j=zeros.copy(),
        )


def building_stored_j(fleet: SpaceHeatingFleet, state: SpaceHeatingStates) -> FloatArray:
    """Heat stored in each building relative to 0 C [J] (only differences are meaningful)."""
    net = fleet.network
    return net.c_in_j_per_k * state.t_in_c + np.where(fleet.two_node, net.c_env_j_per_k * state.t_env_c, 0.0)


def room_sensor_c(fleet: SpaceHeatingFleet, state: SpaceHeatingStates) -> FloatArray:
    """What the room sensor in the main room reads [C] (seed 3.2.5.4 rule 2): the indoor node."""
    del fleet
    return state.t_in_c.copy()


def step_space_heating(
    fleet: SpaceHeatingFleet,
    state: SpaceHeatingStates,
    dt_s: float,
    *,
    enabled: BoolArray,
    t_out_c: FloatArray | float,
    gains_w: FloatArray | float,
    max_substep_s: float = MAX_SUBSTEP_S,
) -> tuple[SpaceHeatingStates, FloatArray]:
    """Advance all buildings and heaters by ``dt_s`` seconds.

    Args:
        fleet: buildings and heaters.
        state: state at the start of the step.
        dt_s: step length [s] (> 0; cut into sub-steps of at most :data:`MAX_SUBSTEP_S`).
        enabled: relay closed (True) or open (heater blocked), shape ``(n,)``, constant over the step.
        t_out_c: outdoor temperature over the step [C].
        gains_w: internal and solar gains into the room over the step [W].
        max_substep_s: longest sub-step [s]: how often the thermostats look at the room (territory studies
            settle per 15 min and may take 300 s; the balance stays exact, only switching is coarser).

    Returns:
        The new state and the mean electric power of each heater over the step [W].

    Raises:
        ValueError: if ``dt_s`` is not positive and finite, or an input is not finite.
    """
    check_step(dt_s)
    n = fleet.n
    t_out, gains = as_column(t_out_c, n), as_column(gains_w, n)
    check_step(max_substep_s)
    n_sub = max(1, math.ceil(dt_s / max_substep_s - 1e-9))
    h = dt_s / n_sub
    net = fleet.network
    t_in, t_env, calling, on, since = state.t_in_c, state.t_env_c, state.calling, state.on, state.since_switch_s
    electric_j, heat_j, losses_j = np.zeros(n), np.zeros(n), np.zeros(n)
    for _ in range(n_sub):
        calling = hysteresis(t_in, fleet.setpoint_c - fleet.band_k, fleet.setpoint_c + fleet.band_k, calling)
        running = _controller(fleet, on=on, since_s=since, want=calling & enabled, enabled=enabled)
        since = np.where(running != on, 0.0, since) + h
        on = running
        supply = supply_temperature_c(fleet.supply_design_c, t_out, fleet.setpoint_c - t_in)
        cop = np.where(fleet.is_heat_pump, heat_pump_cop(t_out, supply, fleet.carnot_efficiency), 1.0)
        q = np.where(on, fleet.q_nom_w, 0.0)
        interval = advance(net, t_in, t_env, heat_w=q + gains, t_out_c=t_out, t_s=h)
        t_in, t_env = interval.t_in_c, interval.t_env_c
        heat_j, electric_j, losses_j = heat_j + q * h, electric_j + q / cop * h, losses_j + interval.losses_j
    new = SpaceHeatingStates(
        t_in_c=t_in,
        t_env_c=t_env,
        calling=calling,
        on=on,
        since_switch_s=since,
        energy_in_j=state.energy_in_j + electric_j,
        heat_in_j=state.heat_in_j + heat_j,
        gains_j=state.gains_j + gains * dt_s,
        losses_j=state.losses_j + losses_j,
    )
    return new, electric_j / dt_s


def _controller(
    fleet: SpaceHeatingFleet, *, on: BoolArray, since_s: FloatArray, want: BoolArray, enabled: BoolArray
) -> BoolArray:
    """Whether the heater runs during the next sub-step.

    Running: keeps running while wanted, or while its minimum run time is not over (compressor protection),
    but never with the relay open. Stopped: starts when wanted and its minimum rest time is over.
    """
    keep = enabled & (want | (since_s < fleet.min_on_s))
    start = want & (since_s >= fleet.min_off_s)
    return np.where(on, keep, start) & (fleet.q_nom_w > 0)
