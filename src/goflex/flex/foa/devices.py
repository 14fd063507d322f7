"""How the agent reaches devices: the :class:`DeviceCommands` and :class:`HouseReader` seams, and the twin adapter.

A Direct Control device is one relay of one house (seed 3.2.5.4 rule 5: a relay on every heating system, relay
closed = heating enabled), named ``<house>/relay<n>`` (e.g. ``goflex-dc-004/relay1``). The agent reads what the
house's sensors show (room sensor, tank wall probe, sub-meter energies) and writes relay positions:

* :class:`TwinHouses` drives :class:`goflex.twin.fleet.FleetPhysics` directly (simulations; optionally advancing
  the physics to the clock on every call, so the agent alone drives a self-contained twin);
* :class:`goflex.flex.foa.iot_devices.CloudioHouses` goes through the cloud.iO IoT layer (relay ``@set``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from goflex.common.clock import Clock
from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.execution import Command, RelayCommand
from goflex.flex.foa.metering import RegisterSample
from goflex.twin.fleet import FleetPhysics
from goflex.twin.house import HouseSpec

J_PER_KWH = 3.6e6
_DEVICE = re.compile(r"^(?P<house>[A-Za-z0-9_.-]+)/relay(?P<relay>[12])$")


def relay_device_id(house: str, relay: int) -> str:
    """The device id of relay ``relay`` of ``house``."""
    return f"{house}/relay{relay}"


def parse_relay_device(device_id: str) -> tuple[str, int]:
    """``(house, relay)`` of a relay device id.

    Raises:
        InvalidDeviceState: not ``<house>/relay1`` or ``<house>/relay2``.
    """
    match = _DEVICE.match(device_id)
    if match is None:
        raise InvalidDeviceState("device_id", f"{device_id!r} is not '<house>/relay1' or '<house>/relay2'")
    return match["house"], int(match["relay"])


def relay_loads(spec: HouseSpec) -> dict[int, tuple[str, ...]]:
    """Which heating systems (``"dhw"``, ``"space_heating"``) each wired relay enables."""
    out: dict[int, tuple[str, ...]] = {}
    if spec.dhw_relay is not None:
        out[spec.dhw_relay] = (*out.get(spec.dhw_relay, ()), "dhw")
    if spec.space_heating_relay is not None:
        out[spec.space_heating_relay] = (*out.get(spec.space_heating_relay, ()), "space_heating")
    return out


@dataclass(frozen=True, slots=True)
class RegisterReading:
    """Samples of one cumulative energy register behind a relay (for the metering, :mod:`goflex.flex.foa.metering`).

    Attributes:
        relay: the relay whose heating system the register measures (1 or 2).
        channel: the register's name in the house, e.g. ``powerMeter-1/kWhClamp2`` (a three-phase system has one
            per phase; the relay's energy is their sum).
        samples: values with the times they were taken, oldest first (the latest at least).
    """

    relay: int
    channel: str
    samples: tuple[RegisterSample, ...]


@dataclass(frozen=True, slots=True)
class HouseReading:
    """What the agent knows of a house at ``time``.

    Attributes:
        house: endpoint name.
        time: when read (aware UTC).
        tank_c: the tank wall probe [C], None without one (seed 3.2.5.4 rule 3: "sensors may be missing").
        room_c: the room sensor [C], None without electric space heating.
        energy_kwh: cumulative energy of the systems behind each relay [kWh] (relay -> kWh).
        power_w: the heating systems' power now [W].
        relay_closed: relay 1 and 2 as reported.
        registers: the energy registers behind the relays with their timestamped samples (what is metered).
    """

    house: str
    time: datetime
    tank_c: float | None
    room_c: float | None
    energy_kwh: dict[int, float] = field(default_factory=dict)
    power_w: float = 0.0
    relay_closed: tuple[bool, bool] = (True, True)
    registers: tuple[RegisterReading, ...] = ()


class DeviceCommands(Protocol):
    """Executes device commands (relay positions, power set points, cycle starts)."""

    async def apply(self, command: Command) -> None:
        """Carry out ``command`` now.

        Raises:
            InvalidDeviceState: the device does not exist or cannot take this kind of command.
        """
        ...


class HouseReader(Protocol):
    """Reads a house's sensors."""

    async def read(self, house: str) -> HouseReading:
        """The house's latest readings.

        Raises:
            InvalidDeviceState: unknown house, or nothing read yet.
        """
        ...


class TwinHouses:
    """Twin houses as devices: relays set on :class:`FleetPhysics`, readings from its state.

    Args:
        physics: the houses.
        clock: when given, the physics is advanced to ``clock.time()`` before every read and command (a twin
            driven by the agent alone); leave None when another loop steps the physics.
    """

    def __init__(self, physics: FleetPhysics, clock: Clock | None = None) -> None:
        self.physics = physics
        self._clock = clock
        self.commands = 0

    def _advance(self) -> None:
        if self._clock is not None:
            self.physics.advance_to(self._clock.time())

    async def apply(self, command: Command) -> None:
        """See :class:`DeviceCommands` (relays only: the twin houses have no power set points)."""
        if not isinstance(command, RelayCommand):
            raise InvalidDeviceState("command", f"twin houses take relay commands only, not {type(command).__name__}")
        house, relay = parse_relay_device(command.device_id)
        self._advance()
        self.physics.set_relay(self.physics.index_of(house), relay, command.closed)
        self.commands += 1

    async def read(self, house: str) -> HouseReading:
        """See :class:`HouseReader`."""
        self._advance()
        p = self.physics
        i = p.index_of(house)
        spec = p.specs[i]
        tank, sh = int(p.layout.tank_of_house[i]), int(p.layout.sh_of_house[i])
        by_load = {"dhw": float(p.house_energy_j[i, 1]), "space_heating": float(p.house_energy_j[i, 2])}
        closed = p.effective_closed()[i]
        time = datetime.fromtimestamp(p.time_s, UTC)
        energy = {r: sum(by_load[load] for load in loads) / J_PER_KWH for r, loads in relay_loads(spec).items()}
        return HouseReading(
            house=house,
            time=time,
            tank_c=float(p.tank_state.wall_c[tank]) if tank >= 0 and spec.devices.boiler_sensors > 0 else None,
            room_c=float(p.heating_state.t_in_c[sh]) if sh >= 0 else None,
            energy_kwh=energy,
            power_w=float(p.load_w[i, 1] + p.load_w[i, 2]),
            relay_closed=(bool(closed[0]), bool(closed[1])),
            # the twin's energy is exact at its physics time: one register per relay, sampled now
            registers=tuple(RegisterReading(r, f"relay{r}", (RegisterSample(time, kwh),)) for r, kwh in energy.items()),
        )
