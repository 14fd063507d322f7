"""A one-house :class:`~goflex.twin.signals.HousePort` on the one-node water heater, for a gateway on its own.

The fleet (:mod:`goflex.twin.fleet`) is how many houses are simulated; this small house exists so that one
gateway (``goflex gateway run`` with ``driver = "twin"``, and the gateway's tests) can run against real physics
without a fleet: a water heater (:func:`goflex.twin.water_heater.step_tank`) on relay 1, measured by clamp 1 of
``powerMeter-1`` and by the tank probe ``boilerSensor-1``; a household base load; a room at a fixed
temperature. The smart meter counts it all (import only, no PV).

Physics advances lazily to the clock's time on every call, in steps of at most ``step_s``, so the house needs
no task of its own.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from goflex.common import Clock
from goflex.twin.signals import ClampReading, HouseSnapshot, MeterRegisters
from goflex.twin.water_heater import TankParameters, TankState, draw_profile_l_per_s, step_tank

_VOLTAGE_V = 230.0
_COS_PHI = 0.95


@dataclass
class TankHouse:
    """One simulated house with an electric water heater on relay 1.

    Attributes:
        name: endpoint name (``goflex-dc-<###>``).
        clock: simulated time.
        seed: random seed (draws, initial registers).
        tank: the water heater.
        base_load_w: mean household load besides the heater [W].
        room_c: room temperature [C].
        persons: occupants (hot-water draws).
        step_s: longest physics step [s].
        initial_temp_c: the tank's temperature at start [C]; default: drawn within the thermostat band.
    """

    name: str
    clock: Clock
    seed: int = 1
    tank: TankParameters = field(default_factory=TankParameters)
    base_load_w: float = 400.0
    room_c: float = 21.0
    persons: int = 3
    step_s: float = 10.0
    initial_temp_c: float | None = None
    _rng: random.Random = field(init=False)
    _state: TankState = field(init=False)
    _time_s: float = field(init=False)
    _relays: list[bool] = field(init=False, default_factory=lambda: [True, True])
    _switch_auto: bool = field(init=False, default=True)
    _import_wh: float = field(init=False)
    _heater_kwh: float = field(init=False, default=0.0)
    _heater_w: float = field(init=False, default=0.0)
    _house_w: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        start_c = self.tank.setpoint_c - self._rng.uniform(0, self.tank.deadband_k)
        self._state = TankState(temp_c=start_c if self.initial_temp_c is None else self.initial_temp_c)
        self._time_s = self.clock.time()
        self._import_wh = self._rng.uniform(3e6, 3e7)  # a meter that has run for years

    # -- HousePort ---------------------------------------------------------------------------------------------

    def snapshot(self) -> HouseSnapshot:
        """The house now (advances the physics to the clock's time first)."""
        self._advance()
        import_wh = round(self._import_wh)
        current = self._house_w / (3 * _VOLTAGE_V * _COS_PHI)
        meter = MeterRegisters(
            active_import_wh=import_wh,
            active_export_wh=0.0,
            active_import_tariff_wh=(round(import_wh * 0.6), import_wh - round(import_wh * 0.6)),
            active_export_tariff_wh=(0.0, 0.0),
            reactive_quadrants_varh=(round(import_wh * 0.33), 0.0, 0.0, round(import_wh * 0.02)),
            power_import_w=round(self._house_w),
            power_export_w=0.0,
            reactive_import_var=round(self._house_w * math.tan(math.acos(_COS_PHI))),
            reactive_export_var=0.0,
            voltage_v=(_VOLTAGE_V, _VOLTAGE_V + 1, _VOLTAGE_V - 1),
            current_a=(round(current, 2),) * 3,
        )
        clamps = (
            ClampReading(self._heater_w, self._heater_kwh),
            ClampReading(0.0, 0.0),
            ClampReading(0.0, 0.0),
        )
        return HouseSnapshot(
            time_s=self._time_s,
            meter=meter,
            ambient_c=(self.room_c,),
            tank_wall_c=(self._state.temp_c - 2.0,),  # seed 3.2.5.4 rule 3: the probe sits on the wall
            clamps=(clamps,),
            relay_closed=(self._relays[0], self._relays[1]),
            switch_auto=self._switch_auto,
        )

    def set_relay(self, relay: int, closed: bool) -> None:
        """Drive relay 1 (water heater) or 2 (unused here)."""
        if relay not in (1, 2):
            raise ValueError(f"relay must be 1 or 2, got {relay}")
        self._advance()  # the past ran with the old position
        self._relays[relay - 1] = closed

    def set_switch_auto(self, auto: bool) -> None:
        """The inhabitant turns the On-Auto switch."""
        self._switch_auto = auto

    # -- physics -------------------------------------------------------------------------------------------------

    @property
    def tank_state(self) -> TankState:
        """The water heater's state (for tests)."""
        self._advance()
        return self._state

    def _advance(self) -> None:
        now = self.clock.time()
        while self._time_s < now:
            dt = min(self.step_s, now - self._time_s)
            hour = (self._time_s / 3600.0) % 24
            draw = draw_profile_l_per_s(hour, self.persons, self._rng)
            before = self._state.energy_in_j
            self._state = step_tank(self.tank, self._state, dt, relay_closed=self._relays[0], draw_l_per_s=draw)
            heater_j = self._state.energy_in_j - before
            self._heater_w = heater_j / dt
            self._heater_kwh += heater_j / 3.6e6
            self._house_w = self._heater_w + self.base_load_w
            self._import_wh += self._house_w * dt / 3600.0
            self._time_s += dt
