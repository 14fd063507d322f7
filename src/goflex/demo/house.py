"""A simulated Direct Control house for ``goflex demo``: a 300 L electric water heater on relay 1, household
base load, and the gateway's readings in the pilot's data model (seed Appendix 4).

Pure: :meth:`DemoHouse.advance` moves the physics and returns the readings that are due, as
``(attribute path, value)`` pairs grouped per sampling rule; the runner publishes them. Sampling follows seed
Tables 2 and 3 (sub-meter every 15 s, smart meter instantaneous power every few seconds, energy registers every
15 min, billing registers daily, tank temperature every minute or on a 0.5 K change); the demo houses are
domestic-hot-water houses, so by seed 3.2.5.4 they have a tank sensor and no room sensor.

The complete twin (heat pumps and buildings, PV, two-node tanks, the E450 and Z-Wave emulators speaking real
bytes) arrives with the twin issue; these houses exist so that the platform loop can be seen working now.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from goflex.cloudio.model import AttributePath, Value
from goflex.gateway.datamodel import obis_object_name
from goflex.twin import TankParameters, TankState, draw_profile_l_per_s, step_tank

ZURICH = ZoneInfo("Europe/Zurich")
PHYSICS_STEP_S = 5.0
TECHNICAL_PERIOD_S = 5.0  # seed Table 3: 1-5 s
SUBMETER_PERIOD_S = 15.0  # seed Table 2
TANK_PERIOD_S = 60.0  # seed Table 2: every minute or on 0.5 K
TANK_DEADBAND_K = 0.5
ENERGY_PERIOD_S = 900.0  # seed Table 3: 15 min
BILLING_PERIOD_S = 86_400.0

Reading = tuple[AttributePath, Value]


@dataclass
class DemoHouse:
    """One house. ``relay1_closed`` is what the platform commands (relay closed = heating enabled)."""

    name: str
    persons: int
    tank: TankParameters
    base_load_w: float
    rng: random.Random
    state: TankState = field(init=False)
    relay1_closed: bool = True
    relay2_closed: bool = True
    import_kwh: float = field(init=False)
    heater_kwh: float = 0.0
    _time: float | None = None
    _due: dict[str, float] = field(default_factory=dict)
    _last_tank_c: float | None = None

    def __post_init__(self) -> None:
        self.state = TankState(temp_c=self.tank.setpoint_c - self.rng.uniform(0, self.tank.deadband_k))
        self.import_kwh = self.rng.uniform(3_000, 30_000)  # a meter that has run for years

    @classmethod
    def create(cls, name: str, seed: int) -> DemoHouse:
        rng = random.Random(seed)
        tank = TankParameters(
            volume_l=rng.choice((200.0, 300.0, 300.0, 400.0)),
            power_w=rng.choice((3000.0, 6000.0, 6000.0)),
            ua_w_per_k=rng.uniform(1.5, 3.5),
        )
        return cls(name, persons=rng.randint(1, 5), tank=tank, base_load_w=rng.uniform(200, 600), rng=rng)

    def path(self, node: str, obj: str, attribute: str = "datapoint") -> AttributePath:
        return AttributePath(self.name, node, (obj,), attribute)

    def base_w(self) -> float:
        """Household base load now [W]: low at night, peaks at lunch and in the evening."""
        hour = self._local_hour()
        rhythm = 0.6 + 0.5 * math.exp(-(((hour - 12.5) / 1.5) ** 2)) + 0.8 * math.exp(-(((hour - 19) / 2) ** 2))
        return self.base_load_w * rhythm

    def power_w(self) -> tuple[float, float]:
        """(heater, whole house) active power now [W]; the meter reading carries a little noise."""
        heater = self.tank.power_w if self.state.element_on else 0.0
        return heater, heater + self.base_w() * self.rng.uniform(0.95, 1.05)

    def _local_hour(self) -> float:
        if self._time is None:
            return 12.0
        local = datetime.fromtimestamp(self._time, ZURICH)
        return local.hour + local.minute / 60

    def advance(self, now: float) -> list[list[Reading]]:
        """Run the physics up to ``now`` [epoch s] and return the groups of readings due (one transaction each)."""
        if self._time is None:
            self._time = now
            self._due = dict.fromkeys(("tech", "sub", "tank", "energy", "billing"), now)
        while self._time + PHYSICS_STEP_S <= now:
            draw = draw_profile_l_per_s(self._local_hour(), self.persons, self.rng)
            before = self.state.energy_in_j
            self.state = step_tank(
                self.tank, self.state, PHYSICS_STEP_S, relay_closed=self.relay1_closed, draw_l_per_s=draw
            )
            heater_kwh = (self.state.energy_in_j - before) / 3.6e6
            self.heater_kwh += heater_kwh
            self.import_kwh += heater_kwh + self.base_w() * PHYSICS_STEP_S / 3.6e6
            self._time += PHYSICS_STEP_S
        return self._readings(now)

    def _take(self, key: str, period: float, now: float) -> bool:
        if now < self._due[key]:
            return False
        self._due[key] = max(self._due[key] + period, now)
        return True

    def _readings(self, now: float) -> list[list[Reading]]:
        groups: list[list[Reading]] = []
        heater_w, total_w = self.power_w()
        if self._take("tech", TECHNICAL_PERIOD_S, now):
            groups.append(
                [
                    (self.path("SmartMeterTechnical", obis_object_name("1.0.1.7.0.255")), round(total_w, 1)),
                    (self.path("SmartMeterTechnical", obis_object_name("1.0.2.7.0.255")), 0.0),
                ]
            )
        if self._take("sub", SUBMETER_PERIOD_S, now):
            # The house's metadata says clamp 1 is on the water heater; clamps 2 and 3 are unused.
            groups.append(
                [
                    (self.path("powerMeter-1", "wattsClamp1"), round(heater_w, 1)),
                    (self.path("powerMeter-1", "wattsClamp2"), 0.0),
                    (self.path("powerMeter-1", "wattsClamp3"), 0.0),
                    (self.path("powerMeter-1", "wattsTotal"), round(heater_w, 1)),
                    (self.path("powerMeter-1", "kWhClamp1"), round(self.heater_kwh, 3)),
                    (self.path("powerMeter-1", "kWhTotal"), round(self.heater_kwh, 3)),
                ]
            )
        temp = round(self.state.temp_c, 1)
        moved = self._last_tank_c is None or abs(temp - self._last_tank_c) >= TANK_DEADBAND_K
        if self._take("tank", TANK_PERIOD_S, now) or moved:
            self._last_tank_c = temp
            groups.append([(self.path("boilerSensor-1", "temperature"), temp)])
        if self._take("energy", ENERGY_PERIOD_S, now):
            groups.append(
                [
                    (self.path("SmartMeterEnergy", obis_object_name("1.1.1.8.0.255")), round(self.import_kwh, 3)),
                    (self.path("SmartMeterEnergy", obis_object_name("1.1.2.8.0.255")), 0.0),
                ]
            )
        if self._take("billing", BILLING_PERIOD_S, now):
            groups.append(
                [
                    (
                        self.path("SmartMeterBilling", obis_object_name("1.1.1.8.1.255")),
                        round(self.import_kwh * 0.6, 3),
                    ),
                    (
                        self.path("SmartMeterBilling", obis_object_name("1.1.1.8.2.255")),
                        round(self.import_kwh * 0.4, 3),
                    ),
                ]
            )
        return groups

    def gateway_state(self) -> list[Reading]:
        """Relay and switch states (reported at start and on every change, seed Appendix 4.1.7)."""
        return [
            (self.path("gateway", "relay1State"), self.relay1_closed),
            (self.path("gateway", "relay2State"), self.relay2_closed),
            (self.path("gateway", "switchState"), True),  # the On-Auto switch stays on Auto in the demo
        ]

    def command(self, obj: str, value: Value) -> bool:
        """Apply a relay command; returns whether a relay changed."""
        closed = bool(value)
        if obj == "relay1Control" and closed != self.relay1_closed:
            self.relay1_closed = closed
            return True
        if obj == "relay2Control" and closed != self.relay2_closed:
            self.relay2_closed = closed
            return True
        return False

    def snapshot(self) -> TankState:
        return replace(self.state)
