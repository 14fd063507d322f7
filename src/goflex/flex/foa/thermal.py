"""Physics forecasts of thermostatically controlled loads for the FOA (pure; reuses :mod:`goflex.twin`).

A forecast answers one question for the interruption generator (:mod:`goflex.flex.foa.tcl`): given a relay
pattern per 15-min slot (closed = heating enabled, seed Appendix 4), how much energy does the device draw per
slot, and how far does the temperature stay above the comfort minimum (the *margin*, negative = comfort lost)?

* :class:`TankForecast`: a one-node water heater (:func:`goflex.twin.water_heater.step_tank`) with the expected
  hot-water draws of its household (:func:`expected_draw_l`, the mean of :mod:`goflex.twin.dhw`'s peaks);
* :class:`RoomForecast`: a 1R1C building heated by a heat pump or direct heaters
  (:func:`goflex.twin.space_heating.step_space_heating`, one house) under a forecast outdoor temperature;
* :class:`CombinedForecast`: a common system (one relay for rooms and tank, seed 3.2.5.3): energies add up,
  the margin is the smaller one.

The FOA sees only what the house's sensors show (the tank's wall probe, the room sensor), so its forecasts start
from those readings with the house's rated data: they are the agent's model, not the twin's truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from goflex.flex.foa.framing import SLOT_S
from goflex.twin.dhw import KINDS, PEAKS_H
from goflex.twin.space_heating import SpaceHeatingFleet, SpaceHeatingStates, step_space_heating
from goflex.twin.water_heater import TankParameters, TankState, step_tank

SUBSTEPS_PER_SLOT = 3
"""Forecast resolution: 5-min steps (the margin is the minimum over step ends; the physics is exact per step)."""
LOCAL_ZONE = ZoneInfo("Europe/Zurich")  # the pilot's households live on Swiss time (seed 2.2)
J_PER_KWH = 3.6e6


@dataclass(frozen=True, slots=True)
class ThermalRun:
    """A forecast under one relay pattern, one entry per slot.

    Attributes:
        energy_kwh: electric energy per slot [kWh].
        margin_k: lowest temperature in the slot minus the comfort minimum [K] (< 0: comfort lost).
    """

    energy_kwh: tuple[float, ...]
    margin_k: tuple[float, ...]


class ThermalForecast(Protocol):
    """A device's physics from its state now."""

    def run(self, lead_s: float, relay_closed: Sequence[bool]) -> ThermalRun:
        """Run ``lead_s`` seconds with the relay closed (not reported), then one slot per entry of the pattern."""
        ...


def expected_draw_l(start: datetime, end: datetime, persons: int, litres_per_person_day: float = 45.0) -> float:
    """Expected hot water drawn in ``[start, end)`` [L of 60 C water] by ``persons`` people.

    The mean of :mod:`goflex.twin.dhw`: the volume of each kind of draw spread over the morning, midday and
    evening peaks (normal densities in local hours), scaled to ``litres_per_person_day``.
    """
    weights = [sum(k.rate_per_person_day * k.mean_volume_l * k.weights[p] for k in KINDS) for p in range(3)]
    total = sum(weights)
    local_start = start.astimezone(LOCAL_ZONE)
    h0 = local_start.hour + local_start.minute / 60 + local_start.second / 3600
    h1 = h0 + (end - start).total_seconds() / 3600
    share = 0.0
    for w, (centre, sd) in zip(weights, PEAKS_H, strict=True):
        for day in (-24.0, 0.0, 24.0):  # peaks of the day before and after reach across midnight
            share += w / total * (_cdf((h1 - centre - day) / sd) - _cdf((h0 - centre - day) / sd))
    return max(share, 0.0) * persons * litres_per_person_day


def _cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@dataclass(frozen=True)
class TankForecast:
    """A water heater's forecast from its temperature now.

    Attributes:
        params: the tank (volume, element, thermostat).
        state: its state now (``temp_c`` from the tank probe).
        now: the time of the state (aware UTC).
        persons: inhabitants drawing hot water.
        comfort_min_c: least acceptable water temperature [C] (e.g. 45 C at the tap).
    """

    params: TankParameters
    state: TankState
    now: datetime
    persons: int
    comfort_min_c: float

    def run(self, lead_s: float, relay_closed: Sequence[bool]) -> ThermalRun:
        """See :class:`ThermalForecast`."""
        state = replace(self.state, energy_in_j=0.0)
        t = self.now
        if lead_s > 0:
            draw = expected_draw_l(t, t + timedelta(seconds=lead_s), self.persons) / lead_s
            state = step_tank(self.params, state, lead_s, relay_closed=True, draw_l_per_s=draw)
            t += timedelta(seconds=lead_s)
        energies, margins = [], []
        dt = SLOT_S / SUBSTEPS_PER_SLOT
        for closed in relay_closed:
            before, low = state.energy_in_j, state.temp_c
            for _ in range(SUBSTEPS_PER_SLOT):
                draw = expected_draw_l(t, t + timedelta(seconds=dt), self.persons) / dt
                state = step_tank(self.params, state, dt, relay_closed=closed, draw_l_per_s=draw)
                low = min(low, state.temp_c)
                t += timedelta(seconds=dt)
            energies.append((state.energy_in_j - before) / J_PER_KWH)
            margins.append(low - self.comfort_min_c)
        return ThermalRun(tuple(energies), tuple(margins))


@dataclass(frozen=True)
class RoomForecast:
    """A heated room's forecast (one house of :class:`goflex.twin.space_heating.SpaceHeatingFleet`).

    Attributes:
        fleet: the building and heater (n = 1).
        state: its state now (``t_in_c`` from the room sensor).
        t_out_c: outdoor temperature forecast over the horizon [C].
        gains_w: internal and solar gains [W].
        comfort_min_c: least acceptable room temperature [C].
    """

    fleet: SpaceHeatingFleet
    state: SpaceHeatingStates
    t_out_c: float
    gains_w: float
    comfort_min_c: float

    def run(self, lead_s: float, relay_closed: Sequence[bool]) -> ThermalRun:
        """See :class:`ThermalForecast`."""
        state = self.state
        if lead_s > 0:
            state, _ = self._step(state, lead_s, closed=True)
        energies, margins = [], []
        dt = SLOT_S / SUBSTEPS_PER_SLOT
        for closed in relay_closed:
            before, low = float(state.energy_in_j[0]), float(state.t_in_c[0])
            for _ in range(SUBSTEPS_PER_SLOT):
                state, _ = self._step(state, dt, closed=closed)
                low = min(low, float(state.t_in_c[0]))
            energies.append((float(state.energy_in_j[0]) - before) / J_PER_KWH)
            margins.append(low - self.comfort_min_c)
        return ThermalRun(tuple(energies), tuple(margins))

    def _step(self, state: SpaceHeatingStates, dt: float, *, closed: bool) -> tuple[SpaceHeatingStates, object]:
        return step_space_heating(
            self.fleet, state, dt, enabled=np.array([closed]), t_out_c=self.t_out_c, gains_w=self.gains_w
        )


@dataclass(frozen=True)
class CombinedForecast:
    """One relay for several systems (a common system): energies add up, the smallest margin counts."""

    parts: tuple[ThermalForecast, ...]

    def run(self, lead_s: float, relay_closed: Sequence[bool]) -> ThermalRun:
        """See :class:`ThermalForecast`."""
        runs = [p.run(lead_s, relay_closed) for p in self.parts]
        return ThermalRun(
            tuple(sum(r.energy_kwh[k] for r in runs) for k in range(len(relay_closed))),
            tuple(min(r.margin_k[k] for r in runs) for k in range(len(relay_closed))),
        )


def one_room(
    *,
    loss_w_per_k: float,
    capacity_j_per_k: float,
    heat_w: float,
    heat_pump: bool,
    setpoint_c: float,
    band_k: float,
) -> SpaceHeatingFleet:
    """A single 1R1C room with its heater, for :class:`RoomForecast` (heat pumps: 45 % of Carnot, 35 C supply).

    Args:
        loss_w_per_k: building loss H [W/K] (> 0).
        capacity_j_per_k: building heat capacity [J/K] (> 0).
        heat_w: nominal thermal power of the heater [W].
        heat_pump: a heat pump (minimum run and rest 10 min) rather than direct heaters.
        setpoint_c: room set point [C].
        band_k: thermostat half band [K].
    """

    def col(x: float) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        return np.array([x], dtype=np.float64)

    return SpaceHeatingFleet(
        two_node=np.array([False]),
        h_w_per_k=col(loss_w_per_k),
        c_j_per_k=col(capacity_j_per_k),
        env_share=col(0.5),
        h_ie_w_per_k=col(10 * loss_w_per_k),
        is_heat_pump=np.array([heat_pump]),
        q_nom_w=col(heat_w),
        supply_design_c=col(35.0),
        carnot_efficiency=col(0.45),
        setpoint_c=col(setpoint_c),
        band_k=col(band_k),
        min_on_s=col(600.0 if heat_pump else 0.0),
        min_off_s=col(600.0 if heat_pump else 0.0),
    )


def room_state(t_in_c: float, *, heating_on: bool = False) -> SpaceHeatingStates:
    """A room at ``t_in_c`` (envelope at the same temperature), heater as given, long since switched."""
    zero = np.zeros(1)
    return SpaceHeatingStates(
        t_in_c=np.array([t_in_c]),
        t_env_c=np.array([t_in_c]),
        calling=np.array([heating_on]),
        on=np.array([heating_on]),
        since_switch_s=np.array([3600.0]),
        energy_in_j=zero,
        heat_in_j=zero.copy(),
        gains_j=zero.copy(),
        losses_j=zero.copy(),
    )
