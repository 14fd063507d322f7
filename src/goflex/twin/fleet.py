"""Vectorised physics of a fleet of houses, driven by simulated time (pure; DESIGN.md 2).

Each house: base load (BDEW H25) + water heater (:mod:`goflex.twin.tank`) + space heating
(:mod:`goflex.twin.space_heating`) - PV, under one weather. Time advances on a fixed grid of ``dt_s`` from the
start, so the same seed and the same clock give the same houses whatever the pattern of :meth:`advance_to`
calls; a relay set between grid points acts from the next grid point (<= ``dt_s`` later, like a relay driver).

Relays (seed 3.2.5.4 rule 5 and 3.2.5.6): relay ``k`` of a house enables the systems wired to it; the On-Auto
switch in manual is wired in parallel to the relays, so it closes them at the physics level too.
A common heat pump heats the tank first (the usual domestic-hot-water priority): while its tank heats, its rooms
wait. Water drawn at the taps is litres of 60 C water; a tank cooler than that gives more, mixed at the tap.
Internal gains: 80 % of the base load (appliances heat the rooms) plus 70 W per inhabitant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from goflex.twin.base_load import BaseLoad
from goflex.twin.dhw import DhwDraws
from goflex.twin.fleet_state import FleetLayout, build_space_heating, build_tanks, house_snapshot
from goflex.twin.heat_pump import heat_pump_cop
from goflex.twin.house import HouseSpec
from goflex.twin.meter_registers import (
    HEAT_PUMP_TAN_PHI,
    Electrics,
    MeterBank,
    high_tariff,
    holiday_set,
    voltages_v,
)
from goflex.twin.signals import HousePort, HouseSnapshot
from goflex.twin.solar import PvFleet
from goflex.twin.space_heating import MAX_SUBSTEP_S as ROOM_SUBSTEP_S
from goflex.twin.space_heating import SpaceHeatingStates, step_space_heating
from goflex.twin.tank import MAX_SUBSTEP_S as TANK_SUBSTEP_S
from goflex.twin.tank import TankStates, step_tanks
from goflex.twin.weather import Weather

F64 = NDArray[np.float64]
DHW_REFERENCE_C = 60.0
MAX_STEP_S = 300.0  # longest grid step: a third of the 15-min settlement period (seed 3.3)


class FleetError(ValueError):
    """A request the fleet cannot serve (unknown house, relay, time beyond the horizon); fix the call."""


@dataclass(frozen=True)
class FleetSummary:
    """The fleet at a glance (the demo's live view).

    Attributes:
        time_s: simulated time of the state [s].
        houses: number of houses.
        relays_open: wired relays that are open at the physics level (relay open and switch on auto).
        boilers_heating: water heaters whose element ran during the last step.
        space_heaters_running: heat pumps and heaters running.
        tank_mean_c, tank_min_c, tank_max_c: mean water temperature of the tanks [C] (nan without tanks).
        room_mean_c, room_min_c, room_max_c: room temperatures [C] (nan without electric space heating).
        total_power_w: net active power of all houses, import positive [W].
        outdoor_c: outdoor temperature [C].
    """

    time_s: float
    houses: int
    relays_open: int
    boilers_heating: int
    space_heaters_running: int
    tank_mean_c: float
    tank_min_c: float
    tank_max_c: float
    room_mean_c: float
    room_min_c: float
    room_max_c: float
    total_power_w: float
    outdoor_c: float


class FleetPhysics:
    """All houses of a fleet, stepped together.

    Args:
        specs: the houses.
        start: simulated start (aware).
        seed: random seed (everything is deterministic for a seed).
        dt_s: grid step [s], in (0, 300]: up to 60 s for gateways (sensors sample every minute), longer only for
            territory studies (thermostats then act once per step; every balance stays exact).
        days: horizon of the environment (weather, PV, base load) [d].
        detailed: synthesise meters, clamps and voltages (off for territory studies).

    Raises:
        FleetError: an empty fleet, a naive start, a step outside (0, 60] s or duplicate house numbers.
    """

    def __init__(
        self,
        specs: Sequence[HouseSpec],
        *,
        start: datetime,
        seed: int,
        dt_s: float = 10.0,
        days: float = 31.0,
        detailed: bool = True,
    ) -> None:
        if not specs or start.tzinfo is None or not 0 < dt_s <= MAX_STEP_S:
            raise FleetError(f"a fleet needs houses, an aware start and 0 < dt_s <= {MAX_STEP_S:g}")
        self.specs = tuple(specs)
        self.dt_s = float(dt_s)
        self.start_s = start.timestamp()
        self.time_s = self.start_s
        self.end_s = self.start_s + days * 86400.0
        self.detailed = detailed
        self._index = {s.name: i for i, s in enumerate(self.specs)}
        if len(self._index) != len(self.specs):
            raise FleetError("house numbers must be unique")
        n = self.n = len(self.specs)
        lay = self.layout = FleetLayout.of(self.specs)
        self.weather = Weather(self.start_s, self.end_s + 3600.0, seed=seed)
        col = np.array
        self.pv = PvFleet(
            self.weather,
            kwp=col([s.pv_kwp for s in specs], dtype=np.float64),
            azimuth_deg=col([s.pv_azimuth_deg for s in specs], dtype=np.float64),
            tilt_deg=col([s.pv_tilt_deg for s in specs], dtype=np.float64),
        )
        annual = col([s.annual_base_load_kwh for s in specs], dtype=np.float64)
        self.base_load = BaseLoad(self.start_s, self.end_s + 3600.0, annual_kwh=annual, seed=seed)
        persons = col([s.persons for s in specs], dtype=np.int64)
        self.draws = DhwDraws(persons[lay.tank_house], seed=seed)
        self._persons = persons.astype(np.float64)
        t_out0 = float(self.weather.temperature_c(self.start_s))
        self.tanks = build_tanks(self.specs, lay, np.random.default_rng([seed, 1]))
        self.tank_state = TankStates.initial(self.tanks, np.random.default_rng([seed, 2]))
        self.heating = build_space_heating(self.specs, lay, np.random.default_rng([seed, 3]))
        self.heating_state = SpaceHeatingStates.initial(self.heating, np.random.default_rng([seed, 4]), t_out_c=t_out0)
        self.relay_closed = np.ones((n, 2), dtype=np.bool_)
        self.switch_auto = np.ones(n, dtype=np.bool_)
        self.electrics = Electrics.draw(n, np.random.default_rng([seed, 5]))
        self._noise = np.random.default_rng([seed, 6])
        self.meters = MeterBank.empty(n)
        self.clamp_w = np.zeros(lay.clamp_house.size)
        self.clamp_kwh = np.zeros(lay.clamp_house.size)
        self.load_w = np.zeros((n, 4))  # columns: base, dhw, space heating, pv (generation positive)
        self.energy_j = np.zeros(4)  # the same, summed over the fleet since the start [J]
        self.house_energy_j = np.zeros((n, 4))  # the same per house since the start [J]
        self.outdoor_c = t_out0
        first = start.date() - timedelta(days=1)
        self._holidays = holiday_set(first, first + timedelta(days=days + 2))

    # -- control -------------------------------------------------------------------------------------------
    def set_relay(self, index: int, relay: int, closed: bool) -> None:
        """Drive relay ``relay`` (1 or 2) of house ``index`` (closed = heating enabled).

        Raises:
            FleetError: an unknown house or relay.
        """
        if relay not in (1, 2) or not 0 <= index < self.n:
            raise FleetError(f"house {index} relay {relay}: houses 0..{self.n - 1}, relays 1 or 2")
        self.relay_closed[index, relay - 1] = closed

    def set_relays(self, relay: int, closed: NDArray[np.bool_]) -> None:
        """Drive relay ``relay`` (1 or 2) of all houses at once, ``closed`` of shape (n,).

        Raises:
            FleetError: an unknown relay or a wrong shape.
        """
        if relay not in (1, 2) or closed.shape != (self.n,):
            raise FleetError(f"relay {relay} with {closed.shape}: relays 1 or 2, one value per house")
        self.relay_closed[:, relay - 1] = closed

    def set_switch_auto(self, index: int, auto: bool) -> None:
        """Turn the On-Auto switch of house ``index`` (False = manual: relays forced closed)."""
        self.switch_auto[index] = auto

    def effective_closed(self) -> NDArray[np.bool_]:
        """Relays as the heating systems see them, shape (n, 2): relay closed or switch in manual."""
        return np.asarray(self.relay_closed | ~self.switch_auto[:, None], dtype=np.bool_)

    # -- time ----------------------------------------------------------------------------------------------
    def advance_to(self, time_s: float) -> None:
        """Step all houses on the grid up to ``time_s`` (Unix [s]); earlier times do nothing.

        Raises:
            FleetError: ``time_s`` beyond the environment's horizon.
        """
        if time_s > self.end_s + 1e-6:
            raise FleetError(f"time {time_s} beyond the fleet's horizon {self.end_s} (raise days=)")
        while self.time_s + self.dt_s <= time_s + 1e-6:
            self._step(self.time_s, self.dt_s)
            self.time_s = self.start_s + round((self.time_s + self.dt_s - self.start_s) / self.dt_s) * self.dt_s

    def _step(self, t: float, dt: float) -> None:
        lay = self.layout
        mid = t + dt / 2
        t_out = float(self.weather.temperature_c(mid))
        base = self.base_load.power_w(t)
        pv = self.pv.power_w(mid)
        closed = self.effective_closed()
        dhw = np.zeros(self.n)
        if lay.tank_house.size:
            dhw[lay.tank_house] = self._step_tanks(t, dt, closed, t_out)
        sh = np.zeros(self.n)
        if lay.sh_house.size:
            enabled = closed[lay.sh_house, lay.sh_relay]
            # DHW priority of a common heat pump: the rooms wait while its tank heats.
            busy = np.zeros(lay.sh_house.size, dtype=np.bool_)
            has_tank = lay.sh_tank >= 0
            busy[has_tank] = self.tank_state.element_on[lay.sh_tank[has_tank]] & lay.sh_common_hp[has_tank]
            gains = 0.8 * base + 70.0 * self._persons
            self.heating_state, p_sh = step_space_heating(
                self.heating,
                self.heating_state,
                dt,
                enabled=enabled & ~busy,
                t_out_c=t_out,
                gains_w=gains[lay.sh_house],
                max_substep_s=max(ROOM_SUBSTEP_S, dt),
            )
            sh[lay.sh_house] = p_sh
        self.load_w = np.stack([base, dhw, sh, pv], axis=1)
        self.energy_j += self.load_w.sum(axis=0) * dt
        self.house_energy_j += self.load_w * dt
        self.outdoor_c = t_out
        if self.detailed:
            self._record(t, dt)

    def _step_tanks(self, t: float, dt: float, closed: NDArray[np.bool_], t_out: float) -> F64:
        lay, fleet, state = self.layout, self.tanks, self.tank_state
        litres_60 = self.draws.litres(t, t + dt)
        # The tap mixes to the same use temperature: a cooler top gives more water, capped at 3x.
        ratio = (DHW_REFERENCE_C - fleet.cold_c) / np.maximum(state.upper_c - fleet.cold_c, 1.0)
        draw_l = litres_60 * np.clip(ratio, 0.5, 3.0)
        efficiency = fleet.efficiency.copy()
        hp = lay.tank_hp
        if hp.size:
            # heat-pump water heaters take heat from the room around them, a common heat pump from outdoors
            source_c = np.where(lay.tank_kind[hp] == 2, t_out, fleet.ambient_c[hp])
            efficiency[hp] = heat_pump_cop(source_c, fleet.setpoint_c[hp], lay.tank_carnot[hp])
        self.tank_state, p = step_tanks(
            fleet,
            state,
            dt,
            enabled=closed[lay.tank_house, lay.tank_relay],
            draw_l=draw_l,
            heat_source_efficiency=efficiency,
            max_substep_s=max(TANK_SUBSTEP_S, dt),
        )
        return p

    def _record(self, t: float, dt: float) -> None:
        lay, e = self.layout, self.electrics
        base, dhw, sh, pv = self.load_w.T
        net = base + dhw + sh - pv
        hp_sh = np.zeros(self.n)
        hp_sh[lay.sh_house] = np.where(self.heating.is_heat_pump, sh[lay.sh_house], 0.0)
        reactive = base * e.tan_phi - e.capacitive_var + hp_sh * HEAT_PUMP_TAN_PHI
        rate = 0 if high_tariff(t, holidays=self._holidays) else 1
        self.meters.record(net, reactive, dt, rate)
        phase_p = (
            base[:, None] * e.phase_share
            + dhw[:, None] * lay.dhw_phase
            + sh[:, None] * lay.sh_phase
            - pv[:, None] * lay.pv_phase
        )
        phase_q = reactive[:, None] * e.phase_share
        volts = voltages_v(e, phase_p, t + dt, self._noise)
        self.meters.voltage_v = volts
        self.meters.current_a = np.hypot(phase_p, phase_q) / volts
        by_load = np.stack([sh, dhw, sh + dhw, pv], axis=1)  # Load order: space heating, dhw, common, pv
        self.clamp_w = by_load[lay.clamp_house, lay.clamp_load] * lay.clamp_share
        self.clamp_kwh += self.clamp_w * dt / 3.6e6

    # -- observation ---------------------------------------------------------------------------------------
    def index_of(self, index_or_name: int | str) -> int:
        """A house's index from its index or endpoint name.

        Raises:
            FleetError: no such house.
        """
        if isinstance(index_or_name, str):
            if index_or_name not in self._index:
                raise FleetError(f"no house named {index_or_name!r}")
            return self._index[index_or_name]
        if not 0 <= index_or_name < self.n:
            raise FleetError(f"house index {index_or_name} not in 0..{self.n - 1}")
        return index_or_name

    def port(self, index_or_name: int | str) -> HousePort:
        """The :class:`goflex.twin.signals.HousePort` of one house.

        Raises:
            FleetError: no such house.
        """
        return _Port(self, self.index_of(index_or_name))

    def snapshot(self, index: int) -> HouseSnapshot:
        """What the devices of house ``index`` see now (see :class:`HouseSnapshot`)."""
        return house_snapshot(self, index)

    def summary(self) -> FleetSummary:
        """Counts and means for a live view."""
        lay = self.layout
        closed = self.effective_closed()
        open_count = int((~closed[lay.tank_house, lay.tank_relay]).sum()) if lay.tank_house.size else 0
        sh_open = ~closed[lay.sh_house, lay.sh_relay] & ~lay.sh_shares_tank_relay
        tanks = 0.5 * (self.tank_state.upper_c + self.tank_state.lower_c)
        rooms = self.heating_state.t_in_c

        def stats(x: F64) -> tuple[float, float, float]:
            return (float(x.mean()), float(x.min()), float(x.max())) if x.size else (np.nan, np.nan, np.nan)

        return FleetSummary(
            self.time_s,
            self.n,
            open_count + int(sh_open.sum()),
            int(self.tank_state.element_on.sum()),
            int(self.heating_state.on.sum()),
            *stats(tanks),
            *stats(rooms),
            total_power_w=float((self.load_w[:, 0] + self.load_w[:, 1] + self.load_w[:, 2] - self.load_w[:, 3]).sum()),
            outdoor_c=self.outdoor_c,
        )


class _Port:
    """One house of a :class:`FleetPhysics`, as :class:`HousePort`."""

    def __init__(self, fleet: FleetPhysics, index: int) -> None:
        self._fleet, self._index = fleet, index

    @property
    def name(self) -> str:
        return self._fleet.specs[self._index].name

    def snapshot(self) -> HouseSnapshot:
        return self._fleet.snapshot(self._index)

    def set_relay(self, relay: int, closed: bool) -> None:
        self._fleet.set_relay(self._index, relay, closed)

    def set_switch_auto(self, auto: bool) -> None:
        self._fleet.set_switch_auto(self._index, auto)
